export { TokenService, PasswordHasher, ARGON2_PARAMS, type Principal } from './auth.js';
