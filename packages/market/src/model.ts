/**
 * @module model
 * The marketplace's data model and the pure functions over it: the reverse-Dutch price
 * curve and the state of an ask, both computed from an explicit `now` (ms since the epoch).
 *
 * Amounts are integer credits (safe integers). An ask escrows its `maxPrice` (the curve's
 * end price); the generator that completes it is paid its own bid (pay as bid) and the
 * surplus goes back to the requester.
 *
 * TIMES of an ask (all absolute ms except `provingTimeMs`):
 *   startMs ≤ endMs             the price rises linearly from startPrice to maxPrice over [startMs, endMs]
 *   assignmentExpiryMs          an ask nobody has taken by then is over (deadline crossed, refunded)
 *   provingTimeMs               an assignee must submit within this after its assignment, or it is slashed and the ask reassigned
 *   deadlineMs                  no proof accepted at or after this instant
 */
import { z } from 'zod';
import { VeriteeError } from '@veritee/core';

export const ASK_STATES = ['created', 'unassigned', 'assigned', 'complete', 'deadline_crossed', 'invalid_input', 'cancelled'] as const;
export type AskState = (typeof ASK_STATES)[number];

/** What the ledger stores about an ask's progress; the state is derived from it and `now`. */
export type AskStatus = 'open' | 'complete' | 'invalid_input' | 'cancelled' | 'expired';

const MAX_CREDITS = 1e12;
const credits = z.number().int().min(0).max(MAX_CREDITS);
const ms = z.number().int().min(0).max(8.64e15);
const id = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'ids are 1-64 characters of A-Z a-z 0-9 . _ -');
const hex64 = z.string().regex(/^[0-9a-f]{64}$/);

export const idSchema = id;

export const askSpecSchema = z.strictObject({
  id,
  marketId: id,
  /** Ed25519 public key (hex) of the requester: it alone may cancel the ask. */
  requesterKey: hex64,
  startPrice: credits,
  maxPrice: credits,
  startMs: ms,
  endMs: ms,
  assignmentExpiryMs: ms,
  provingTimeMs: z.number().int().min(1).max(7 * 86_400_000),
  deadlineMs: ms,
  publicInputs: z.unknown(),
  /** HPKE ciphertext of the private inputs to the engine's attested key (see crypto.ts), or absent. */
  privateInputs: z.strictObject({ enc: z.string().max(200), ct: z.string().max(1_500_000) }).optional(),
});
export type AskSpec = z.infer<typeof askSpecSchema>;

/** Refuses an ask whose numbers are out of order (MARKET_ASK_INVALID names the first problem). */
export function checkAskSpec(a: AskSpec, now: number): void {
  const bad = (m: string): never => {
    throw new VeriteeError('MARKET_ASK_INVALID', m);
  };
  if (a.startPrice > a.maxPrice) bad('startPrice is above maxPrice');
  if (a.endMs < a.startMs) bad('the price window ends before it starts');
  if (a.deadlineMs <= now) bad('the deadline has already passed');
  if (a.assignmentExpiryMs > a.deadlineMs) bad('the assignment expiry is after the deadline');
  if (a.assignmentExpiryMs <= now) bad('the assignment expiry has already passed');
  if (a.maxPrice === 0) bad('maxPrice must be positive');
}

/** The price a generator may take the ask at, at `now`: linear from startPrice to maxPrice, integer (floor). */
export function priceAt(a: Pick<AskSpec, 'startPrice' | 'maxPrice' | 'startMs' | 'endMs'>, now: number): number {
  if (now <= a.startMs) return a.startPrice;
  if (now >= a.endMs || a.endMs === a.startMs) return a.maxPrice;
  return a.startPrice + Math.floor(((a.maxPrice - a.startPrice) * (now - a.startMs)) / (a.endMs - a.startMs));
}

/** The stored facts the state of an ask depends on. */
export interface AskProgress {
  status: AskStatus;
  startMs: number;
  assignmentExpiryMs: number;
  deadlineMs: number;
  /** Set while a generator holds the ask. */
  assignedTo: string | null;
  assignmentEndsMs: number | null;
  /** True once it has ever been assigned (an ask taken before its expiry may be reassigned until the deadline). */
  everAssigned: boolean;
}

/**
 * The state of an ask at `now`:
 * - cancelled / complete / invalid_input: final, as recorded;
 * - deadline_crossed: `now` ≥ deadline, or never assigned and `now` ≥ assignment expiry;
 * - created: before its price window starts (not yet matchable);
 * - assigned: a generator holds it and its proving time has not run out;
 * - unassigned: otherwise (open to matching; a lapsed assignment waits here to be slashed and reassigned).
 */
export function askState(p: AskProgress, now: number): AskState {
  if (p.status === 'cancelled') return 'cancelled';
  if (p.status === 'complete') return 'complete';
  if (p.status === 'invalid_input') return 'invalid_input';
  if (p.status === 'expired' || now >= p.deadlineMs) return 'deadline_crossed';
  if (!p.everAssigned && now >= p.assignmentExpiryMs) return 'deadline_crossed';
  if (now < p.startMs) return 'created';
  if (p.assignedTo !== null && p.assignmentEndsMs !== null && now < p.assignmentEndsMs) return 'assigned';
  return 'unassigned';
}

export const marketSpecSchema = z.strictObject({
  id,
  proofSystem: z.string().min(1).max(64),
  verificationKey: z.unknown(),
  /** Measurements (hex) of prover images allowed to read private inputs; empty = public inputs only. */
  allowedMeasurements: z.array(z.string().regex(/^[0-9a-f]{64,128}$/)).max(64),
  /** Collateral a generator locks per assignment. */
  collateral: credits,
  /** Taken from the collateral of a generator that misses its proving time or the deadline (≤ collateral). */
  slashPenalty: credits,
  /** Share of a slash (basis points) paid to the generator that then completes the ask; the rest goes to the treasury. */
  slashRewardBp: z.number().int().min(0).max(10_000),
  /** A proof that must verify before the market is created. */
  sample: z.strictObject({ publicInputs: z.unknown(), proof: z.unknown() }),
});
export type MarketSpec = z.infer<typeof marketSpecSchema>;

export function checkMarketSpec(m: MarketSpec): void {
  if (m.slashPenalty > m.collateral) throw new VeriteeError('MARKET_ASK_INVALID', 'the slashing penalty is above the collateral');
}

export const generatorSpecSchema = z.strictObject({
  id,
  /** Ed25519 public key (hex): signs the generator's claims and submissions. */
  identityKey: hex64,
  stake: credits,
  /** Declared compute: never assigned more concurrent jobs than this. */
  maxConcurrent: z.number().int().min(1).max(1024),
});
export type GeneratorSpec = z.infer<typeof generatorSpecSchema>;
