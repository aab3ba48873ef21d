/**
 * A template that cannot be parsed or executed. The message is Go's wording
 * (`template: :1:2: executing "" at <.Nope>: can't evaluate field Nope in type ...`); the CLI
 * reports it as CLI_USAGE (see format/index.ts).
 */
export class TemplateError extends Error {
  /** The output written before an execution failed (docker prints a table's header that far). */
  partial?: string;

  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

/** An error of a function (`error calling index: ...`): made into a TemplateError where it is called. */
export class FuncError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FuncError';
  }
}
