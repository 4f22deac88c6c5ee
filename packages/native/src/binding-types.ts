// The exact TS mirror of what the addon exports, one file per directory of cpp/ under binding-types/ (common,
// posix, linux, darwin, sysv, win32) and assembled in binding-types/index.ts; this file keeps the import path.
export * from './binding-types/index.js';
