// A sign-in provider's icon. Providers name their icon as the reference does: a Font Awesome class
// ("fa-brands fa-github"), a short name ("google"), or a path on this server ("/static/x.svg").
// The app ships no icon font, so the well-known brands are drawn here and any other provider gets
// a monogram; a same-origin image path is shown as is (the page's policy allows no other images).
import { useState } from 'react';

const BRANDS: Record<string, { color: string; glyph: string }> = {
  github: { color: '#24292f', glyph: 'GH' },
  gitlab: { color: '#e24329', glyph: 'GL' },
  google: { color: '#4285f4', glyph: 'G' },
  okta: { color: '#007dc1', glyph: 'O' },
  keycloak: { color: '#4d4d4d', glyph: 'K' },
  flask: { color: '#6b4fbb', glyph: 'Dev' },
  key: { color: '#8a5a00', glyph: 'SSO' },
};

/** The brand a provider's icon string names, if any (github from "fa-brands fa-github"). */
export function brandOf(icon: string): string | undefined {
  const words = icon.toLowerCase().split(/[\s/._-]+/);
  return ['microsoft', 'windows', ...Object.keys(BRANDS)].find((b) => words.includes(b));
}

export function ProviderIcon({ icon, name }: { icon: string; name: string }) {
  const [broken, setBroken] = useState(false);
  // A logo path that does not load falls back to the brand or the monogram.
  if (/^\/[^/]/.test(icon) && !broken) return <img className="provider-icon" src={icon} alt="" width={20} height={20} onError={() => setBroken(true)} />;
  const brand = brandOf(icon);
  if (brand === 'microsoft' || brand === 'windows') {
    return (
      <svg className="provider-icon" viewBox="0 0 20 20" width={20} height={20} aria-hidden="true">
        <rect x="0" y="0" width="9.5" height="9.5" fill="#f25022" />
        <rect x="10.5" y="0" width="9.5" height="9.5" fill="#7fba00" />
        <rect x="0" y="10.5" width="9.5" height="9.5" fill="#00a4ef" />
        <rect x="10.5" y="10.5" width="9.5" height="9.5" fill="#ffb900" />
      </svg>
    );
  }
  const look = (brand && BRANDS[brand]) || { color: '#5b6b85', glyph: (name.trim()[0] ?? '?').toUpperCase() };
  return (
    <span className="provider-icon monogram" style={{ background: look.color }} aria-hidden="true">
      {look.glyph}
    </span>
  );
}
