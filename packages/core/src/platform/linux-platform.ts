import type { Platform } from './platform.js';
import { posixPlatform } from './posix-platform.js';

/**
 * Linux: memfd (sealed, passable to children), POSIX shm in /dev/shm, files and SysV segments; shared futex
 * waits; owner ids are thread ids judged by /proc/<tid>/stat, within one pid namespace.
 */
export const linuxPlatform: Platform = posixPlatform('linux', 'Linux', true);
