// A SurveyJS definition, checked structurally and bounded before it is stored: an object with a
// `pages` array, each page and element an object, questions named once, `mapsToTmField` (where a
// question's answer goes in a threat model made from a response) used once per field. The
// questions are what create_threat_model maps.
import { badRequest } from '../../http/errors.ts';
import { SURVEY_JSON_LIMITS } from '../../../contract/surveys.ts';

export interface Question {
  name: string;
  type: string;
  title?: string;
  mapsToTmField?: string;
}

const MAPPING = /^[a-zA-Z0-9_./:-]{1,128}$/;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The questions of a definition; throws 400 naming the first problem. */
export function questionsOf(json: unknown): Question[] {
  if (!isObject(json)) throw badRequest('survey_json must be an object');
  const size = Buffer.byteLength(JSON.stringify(json), 'utf8');
  if (size > SURVEY_JSON_LIMITS.bytes) throw badRequest(`survey_json is ${size} bytes; at most ${SURVEY_JSON_LIMITS.bytes} are accepted`);
  const pages = json.pages;
  if (!Array.isArray(pages)) throw badRequest('survey_json must contain a pages array');
  if (pages.length > SURVEY_JSON_LIMITS.pages) throw badRequest(`survey_json has more than ${SURVEY_JSON_LIMITS.pages} pages`);
  const questions: Question[] = [];
  const names = new Map<string, string>();
  const mapped = new Map<string, string>();
  let count = 0;
  const walk = (elements: unknown, where: string, depth: number) => {
    if (elements === undefined) return;
    if (!Array.isArray(elements)) throw badRequest(`${where} must be an array`);
    if (depth > SURVEY_JSON_LIMITS.depth) throw badRequest(`survey_json nests panels deeper than ${SURVEY_JSON_LIMITS.depth} levels`);
    elements.forEach((el, i) => {
      const at = `${where}[${i}]`;
      if (!isObject(el)) throw badRequest(`${at} must be an object`);
      if (++count > SURVEY_JSON_LIMITS.elements) throw badRequest(`survey_json has more than ${SURVEY_JSON_LIMITS.elements} elements`);
      if (typeof el.type !== 'string' || el.type === '') throw badRequest(`${at} needs a type`);
      if (typeof el.name !== 'string' || el.name === '') throw badRequest(`${at} needs a name`);
      if (el.type === 'panel') {
        walk(el.elements, `${at}.elements`, depth + 1);
        return;
      }
      if (names.has(el.name)) throw badRequest(`question name "${el.name}" is used twice`);
      names.set(el.name, at);
      const q: Question = { name: el.name, type: el.type };
      if (typeof el.title === 'string') q.title = el.title;
      if (el.mapsToTmField !== undefined) {
        if (typeof el.mapsToTmField !== 'string' || !MAPPING.test(el.mapsToTmField)) throw badRequest(`${at}.mapsToTmField must be a field name such as name, description or metadata.<key>`);
        const other = mapped.get(el.mapsToTmField);
        if (other) throw badRequest(`duplicate mapsToTmField "${el.mapsToTmField}": questions "${other}" and "${el.name}" both map to the same field`);
        mapped.set(el.mapsToTmField, el.name);
        q.mapsToTmField = el.mapsToTmField;
      }
      questions.push(q);
      // A dynamic panel is one question; its template's elements are checked, not collected.
      if (el.type === 'paneldynamic') walk(el.templateElements, `${at}.templateElements`, depth + 1);
    });
  };
  pages.forEach((page, i) => {
    if (!isObject(page)) throw badRequest(`pages[${i}] must be an object`);
    walk(page.elements, `pages[${i}].elements`, 1);
  });
  return questions;
}

/** An answer as text: strings as they are, numbers and booleans printed, lists of strings joined, anything else as JSON. */
export function flatten(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.join(', ');
  return JSON.stringify(value);
}
