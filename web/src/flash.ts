// A message for the next page: what a sign-in, step-up or link flow that ended on the callback
// route has to say where the person lands (the app navigates without reloading, so it stays here).
let message: string | undefined;

export function setFlash(text: string): void {
  message = text;
}

/** The waiting message (render may call this more than once). */
export const peekFlash = (): string | undefined => message;

/** Drops the waiting message once it is shown. */
export function clearFlash(): void {
  message = undefined;
}
