import { ApiError } from './api';
import { fieldErrors, patchOf, savedSentence, toDraft, type FieldDef, type SettingValues } from './settings';

const FIELDS: FieldDef[] = [
  { key: 'retention.daily.days', label: 'Keep daily backups', kind: 'number' },
  { key: 'schedule.vacuum', label: 'VACUUM', kind: 'cron' },
  { key: 'alerts.smtp.host', label: 'SMTP host', kind: 'text' },
  { key: 'alerts.smtp.secure', label: 'TLS', kind: 'checkbox' },
  { key: 'alerts.smtp.password', label: 'SMTP password', kind: 'password' },
];

const VALUES: SettingValues = {
  'retention.daily.days': 30,
  'schedule.vacuum': '0 2 1-7 * 0',
  'alerts.smtp.host': '',
  'alerts.smtp.secure': false,
};

describe('toDraft', () => {
  it('gives every input text, checkboxes booleans, and never a stored password', () => {
    expect(toDraft(FIELDS, { ...VALUES, 'alerts.smtp.password': 'secret' })).toEqual({
      'retention.daily.days': '30',
      'schedule.vacuum': '0 2 1-7 * 0',
      'alerts.smtp.host': '',
      'alerts.smtp.secure': false,
      'alerts.smtp.password': '',
    });
  });
});

describe('patchOf', () => {
  it.each([
    ['nothing changed', {}, {}],
    ['a number', { 'retention.daily.days': '45' }, { 'retention.daily.days': 45 }],
    ['a number with spaces', { 'retention.daily.days': ' 45 ' }, { 'retention.daily.days': 45 }],
    ['the same number typed differently', { 'retention.daily.days': '30.0' }, {}],
    ['text that is no number, as typed', { 'retention.daily.days': 'ten' }, { 'retention.daily.days': 'ten' }],
    ['an emptied number', { 'retention.daily.days': '' }, { 'retention.daily.days': '' }],
    ['a cron, trimmed', { 'schedule.vacuum': ' off ' }, { 'schedule.vacuum': 'off' }],
    ['the same cron with spaces around', { 'schedule.vacuum': ' 0 2 1-7 * 0 ' }, {}],
    ['text, untrimmed', { 'alerts.smtp.host': ' smtp.example.com' }, { 'alerts.smtp.host': ' smtp.example.com' }],
    ['a checkbox', { 'alerts.smtp.secure': true }, { 'alerts.smtp.secure': true }],
    ['a typed password', { 'alerts.smtp.password': 'n3w' }, { 'alerts.smtp.password': 'n3w' }],
  ])('%s', (_what, edits, patch) => {
    const draft = { ...toDraft(FIELDS, VALUES), ...edits };
    expect(patchOf(FIELDS, VALUES, draft)).toEqual(patch);
  });
});

describe('fieldErrors', () => {
  const keys = FIELDS.map((f) => f.key);
  it.each([
    ['no error', null, {}],
    [
      'details naming fields',
      new ApiError(400, 'VALIDATION_FAILED', 'Invalid request body: …', undefined, [
        { path: 'alerts.smtp.host', message: 'must be at most 255 characters' },
        { path: 'elsewhere', message: 'not on this form' },
      ]),
      { 'alerts.smtp.host': 'must be at most 255 characters' },
    ],
    [
      'a sentence starting with a key',
      new ApiError(400, 'VALIDATION_FAILED', 'retention.daily.days must be a whole number of days from 1 to 3650.'),
      { 'retention.daily.days': 'retention.daily.days must be a whole number of days from 1 to 3650.' },
    ],
    [
      'a sentence with the key and a colon',
      new ApiError(400, 'VALIDATION_FAILED', 'schedule.vacuum: expected 5 fields'),
      { 'schedule.vacuum': 'schedule.vacuum: expected 5 fields' },
    ],
    ['a sentence about something else', new ApiError(503, 'MAINTENANCE', 'A restore is running.'), {}],
  ])('%s', (_what, error, expected) => {
    expect(fieldErrors(error, keys)).toEqual(expected);
  });
});

describe('savedSentence', () => {
  it.each([
    [1, 'Saved 1 setting.'],
    [3, 'Saved 3 settings.'],
  ])('%p → %s', (n, text) => {
    expect(savedSentence(n)).toBe(text);
  });
});
