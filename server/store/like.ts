// LIKE / ILIKE patterns built from what a caller typed, with the caller's own `%`, `_` and `\`
// taken literally (the reference's user search does not escape them: tmi-admin-review-notes
// §3.8 item 7). PostgreSQL's default LIKE escape character is the backslash, so no ESCAPE clause
// is needed. Always bind the result as a parameter.
const escapeLike = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

/** Matches `text` anywhere. */
export const likeContains = (text: string) => `%${escapeLike(text)}%`;

/** Matches values that start with `text`. */
export const likePrefix = (text: string) => `${escapeLike(text)}%`;
