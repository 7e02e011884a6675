// How much work a condition may make the webhook do. Attestation predicates are chosen by whoever signed them, and
// a signature says who, not that the content is harmless: every bound below caps what such a document can cost one
// evaluation, and passing one is an evaluation error (which Kyverno, and so the caller, treats as a failed check).

/** Longest string a function, template or operator makes or reads (UTF-16 units). */
export const MAX_STRING_LENGTH = 1 << 20;

/** Most elements an In-family operator compares on either side. */
export const MAX_COLLECTION_LENGTH = 10_000;

/** Deepest nesting that equality, JSON and Go-style printing follow. */
export const MAX_NESTING_DEPTH = 100;

/** Longest text parse_json accepts. */
export const MAX_PARSE_JSON_LENGTH = 1 << 20;

/** Longest text parse_yaml accepts, and how many aliases it may resolve (YAML "billion laughs"). */
export const MAX_PARSE_YAML_LENGTH = 256 << 10;
export const MAX_YAML_ALIASES = 64;

/** Longest regular expression compiled, and how many compiled expressions are kept for reuse. */
export const MAX_REGEX_LENGTH = 4096;
export const REGEX_CACHE_SIZE = 256;

/** Longest string read as a quantity, duration, number or time; longer ones are none of these. */
export const MAX_SCALAR_LENGTH = 1024;

/**
 * Work units one evaluation may spend. A JMESPath step costs VISIT_COST, and string work about one unit a
 * character: the bound stops an evaluation within about a tenth of a second on a current CPU.
 */
export const MAX_EVALUATION_WORK = 8_000_000;
export const VISIT_COST = 16;

/**
 * Nested variables ("{{ regex_match('^x', '{{ subject }}') }}"): how many levels one variable may hold (a variable
 * with one inside it is 2 levels), and how long the outer expression's text may become once the inner values are
 * written into it. The outer text is known only at admission, so it is compiled then: the compiled texts are kept
 * in one shared cache of bounded size, and only texts up to the cached length are kept. Compiling costs
 * PARSE_COST work units a character.
 */
export const MAX_VARIABLE_NESTING = 8;
export const MAX_NESTED_EXPRESSION_LENGTH = 64 << 10;
export const NESTED_EXPRESSION_CACHE_SIZE = 256;
export const NESTED_EXPRESSION_CACHE_MAX_TEXT = 4096;
export const PARSE_COST = 4;
