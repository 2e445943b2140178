/** A username: 3-32 of a-z 0-9 _ . - (stored lower-cased; compared case-insensitively). */
export const USERNAME_PATTERN = /^[a-z0-9_.-]{3,32}$/;
