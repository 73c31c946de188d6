// Message schemas: every message that arrives from another process is checked against the
// schema registered for its `type` before any actor sees it. Protocols declare their schemas
// with typebox next to their message types; the validators are compiled once.
import { type TSchema, type Static } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';

export class SchemaRegistry {
  private readonly checks = new Map<string, TypeCheck<TSchema>>();

  /**
   * @param strict when true, a message whose type has no registered schema is refused;
   *   when false, such a message passes with only its envelope checked.
   */
  constructor(readonly strict = true) {}

  /** Register the schema of one message type (an object schema with a literal `type`). */
  add(type: string, schema: TSchema): this {
    if (this.checks.has(type)) throw new Error(`a schema for message type '${type}' is already registered`);
    this.checks.set(type, TypeCompiler.Compile(schema));
    return this;
  }

  /** Register many at once: `{ Ping: PingSchema, Pong: PongSchema }`. */
  addAll(schemas: Record<string, TSchema>): this {
    for (const [type, schema] of Object.entries(schemas)) this.add(type, schema);
    return this;
  }

  /** Merge another registry's schemas into this one. */
  merge(other: SchemaRegistry): this {
    for (const [type, check] of other.checks) {
      if (!this.checks.has(type)) this.checks.set(type, check);
    }
    return this;
  }

  has(type: string): boolean {
    return this.checks.has(type);
  }

  get types(): string[] {
    return [...this.checks.keys()];
  }

  /** null when `msg` is acceptable, otherwise a one-line reason. */
  check(msg: { type: string }): string | null {
    const type = msg.type;
    const check = this.checks.get(type);
    if (!check) return this.strict ? `no schema for message type '${type}'` : null;
    if (check.Check(msg)) return null;
    const first = check.Errors(msg).First();
    return first ? `${type}${first.path || ''}: ${first.message}` : `${type} does not match its schema`;
  }
}

export type { Static, TSchema };
