import type { ComponentChildren } from 'preact';

let next = 0;
/** A stable id per field instance, linking label, control and error message. */
export function fieldId(name: string): string {
  next += 1;
  return `f-${name}-${next}`;
}

/** A labelled control with its error beside it (aria-describedby), as the API named the field. */
export function Field(props: {
  id: string;
  label: string;
  error?: string | undefined;
  hint?: string | undefined;
  children: (aria: { id: string; 'aria-invalid': boolean; 'aria-describedby'?: string }) => ComponentChildren;
}) {
  const described = [props.error ? `${props.id}-error` : null, props.hint ? `${props.id}-hint` : null].filter(Boolean).join(' ');
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      {props.children({ id: props.id, 'aria-invalid': Boolean(props.error), ...(described ? { 'aria-describedby': described } : {}) })}
      {props.hint && (
        <span id={`${props.id}-hint`} class="muted">
          {props.hint}
        </span>
      )}
      {props.error && (
        <span id={`${props.id}-error`} class="error" role="alert">
          {props.error}
        </span>
      )}
    </div>
  );
}

export function ProblemAlert(props: { problem: { detail: string; fields: Record<string, string> } | null; shownFields?: string[] }) {
  if (!props.problem) return null;
  const shown = new Set(props.shownFields ?? []);
  const others = Object.entries(props.problem.fields).filter(([field]) => !shown.has(field));
  return (
    <div class="alert" role="alert">
      {props.problem.detail}
      {others.length > 0 && (
        <ul>
          {others.map(([field, reason]) => (
            <li key={field}>
              {field}: {reason}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
