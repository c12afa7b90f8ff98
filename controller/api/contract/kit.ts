/** Short names for the TypeBox builders the contract files use (not part of the contract itself). */
import { Type, type TSchema } from '@sinclair/typebox';

export const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
export const Str = Type.String();
export const Int = Type.Integer();
export const Num = Type.Number();
export const Bool = Type.Boolean();
export const Opt = Type.Optional;
/** Counters by a fixed set of keys, each present once counted: `{ [key]?: integer }`, and no other key. */
export const Counts = <K extends string[]>(...keys: [...K]) => Type.Mapped(keys, () => Opt(Int), { additionalProperties: false });
