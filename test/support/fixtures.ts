/** Model names that must work everywhere: store, filter, match, deliver. */
export const SPECIAL_MODEL_NAMES = [
  'a/b',
  'a#b',
  'a?b',
  'a\\b',
  'with space',
  'quote"s and \'single\'',
  'emoji 😀🚀',
  '%2F literal percent',
  'tab\there',
  'x'.repeat(256),
  '😀'.repeat(256),
  '/'.repeat(256),
  'ünïcödé-名前',
];
