/**
 * errno values as the kernel returns them (include/uapi/asm-generic/errno-base.h
 * and errno.h; the values are the same on every architecture the model
 * covers). Kernel functions that return `-errno` return e.g. `-ENOMEM` here.
 */
export const EPERM = 1;
export const ENOENT = 2;
export const EIO = 5;
export const ENXIO = 6;
export const E2BIG = 7;
export const ENOMEM = 12;
export const EFAULT = 14;
export const EBUSY = 16;
export const EEXIST = 17;
export const ENODEV = 19;
export const EINVAL = 22;
export const ENOSPC = 28;
export const ERANGE = 34;
export const EOPNOTSUPP = 95;
export const EOVERFLOW = 75;
export const EREMOTEIO = 121;

const NAMES: Record<number, string> = {
  [EPERM]: "EPERM",
  [ENOENT]: "ENOENT",
  [EIO]: "EIO",
  [ENXIO]: "ENXIO",
  [E2BIG]: "E2BIG",
  [ENOMEM]: "ENOMEM",
  [EFAULT]: "EFAULT",
  [EBUSY]: "EBUSY",
  [EEXIST]: "EEXIST",
  [ENODEV]: "ENODEV",
  [EINVAL]: "EINVAL",
  [ENOSPC]: "ENOSPC",
  [ERANGE]: "ERANGE",
  [EOPNOTSUPP]: "EOPNOTSUPP",
  [EOVERFLOW]: "EOVERFLOW",
  [EREMOTEIO]: "EREMOTEIO",
};

/** "-ENOMEM" for -12, "0" for 0, the number itself when unknown. */
export function errnoName(ret: number): string {
  if (ret === 0) return "0";
  const n = NAMES[Math.abs(ret)];
  if (!n) return String(ret);
  return ret < 0 ? `-${n}` : n;
}
