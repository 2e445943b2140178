import type { z } from 'zod';

/** One line per problem, naming the field: `body: Too big: expected string to have <=4000 characters`. */
export function formatZodError(error: z.ZodError): string {
  return error.issues
    .map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}
