/*
 * swap.pml: one two-leg HTLC swap, model-checked with spin.
 *
 * The constants (deadlines, block times, confirmation depths, inclusion delays, the
 * relayer's poll interval and reaction time) are #defines generated from the timelock
 * calculator by `python -m bridge.protocol_model` (specs/protocol/params_*.pml); the
 * verifier is run on a header followed by this file. See specs/protocol/protocol.md.
 *
 * Actors
 *   - the seller (initiator): holds the secret, locks the security on the security
 *     chain first (deadline D_SEC), reveals the secret by claiming the cash;
 *   - the buyer (participant): locks the cash on the cash chain (deadline D_CASH <
 *     D_SEC) once the security lock is confirmed, claims the security with the secret;
 *   - each side is either honest (driven by the relayer's rules, acting only on
 *     confirmed events, polling every POLL s, reacting within REACT s, crashing and
 *     restarting from its store) or hostile (any action, any time: never locks, locks
 *     late, reveals at the last moment, refunds at the first moment, front-runs a claim
 *     with the secret as soon as it is in a mempool). At least one side is honest;
 *   - two chains: blocks every BMIN..BMAX s, each sent transaction included within INCL
 *     blocks, timestamps off real time by up to DRIFT s, deadlines in native units
 *     (round numbers or block timestamps), an HTLC per leg that pays its receiver on a
 *     claim (secret, before the deadline) and its sender on a refund (at/after it).
 *
 * Time is one global clock t in whole seconds; each iteration of the main loop is one
 * second: the chains may produce blocks, the honest relayers poll and send, the hostile
 * side acts, the invariants are checked.
 */

/* ------------------------------------------------------------------ names */

#define SEC     0           /* the security leg, on the security chain */
#define CASH    1           /* the cash leg, on the cash chain */

#define NOLOCK   0          /* the HTLC lock of a leg */
#define OPEN     1
#define CLAIMED  2
#define REFUNDED 3

#define TLOCK    0          /* kinds of transaction, per leg */
#define TCLAIM   1
#define TREFUND  2

#define S 0                 /* the honest relayers: the seller's, the buyer's */
#define B 1

/* names, for the counterexamples' printed steps only */
mtype = { security, cash, lock, claim, refund, seller_relayer, buyer_relayer,
          hostile_seller, hostile_buyer, reveal, claim_the_security, refund_the_security,
          lock_the_cash, refund_the_cash };
#define LEGNAME(l) ((l) == SEC -> security : cash)
#define TXNAME(k)  ((k) == TLOCK -> lock : ((k) == TCLAIM -> claim : refund))
#define WHO(r)     ((r) == S -> seller_relayer : buyer_relayer)
#define EFFECTNAME(r, e) ((e) == E_OWN -> ((r) == S -> reveal : lock_the_cash) : \
                          ((e) == E_CLAIM -> claim_the_security : \
                           ((r) == S -> refund_the_security : refund_the_cash)))

/* per chain, by index */
#define BMIN(c)   ((c) == SEC -> SEC_BMIN : CASH_BMIN)
#define BMAX(c)   ((c) == SEC -> SEC_BMAX : CASH_BMAX)
#define CONF(c)   ((c) == SEC -> SEC_CONF : CASH_CONF)
#define INCL(c)   ((c) == SEC -> SEC_INCL : CASH_INCL)
#define DL(c)     ((c) == SEC -> D_SEC : D_CASH)
#define ROUND(c)  ((c) == SEC -> SEC_ROUND : CASH_ROUND)
#define DRIFT(c)  ((c) == SEC -> SEC_DRIFT : CASH_DRIFT)

/* what a relayer has recorded in its store (confirmed events), one bit each */
#define OB_LOCK(l)    (1 << (3 * (l)))
#define OB_CLAIM(l)   (2 << (3 * (l)))
#define OB_REFUND(l)  (4 << (3 * (l)))
#define OB_SETTLED(l) (6 << (3 * (l)))

/* the effects a relayer has decided (persisted with their send-by time) */
#define E_OWN     0         /* seller: reveal (claim the cash); buyer: lock the cash */
#define E_CLAIM   1         /* claim the security for the buyer (the secret is public) */
#define E_REFUND  2         /* refund the side's own leg after its deadline */

/* ------------------------------------------------------------------ state */

byte t;                     /* real time (s) */
byte since[2];              /* seconds since each chain's latest block */
byte clk[2];                /* native clock of each chain's latest block: round or timestamp */

byte lst[2];                /* each leg's lock in its HTLC */
byte ldep[2];               /* blocks on top of the lock's block (capped at CONF) */
byte sdep[2];               /* blocks on top of the claim's / refund's block (capped) */
bool claimed_ever[2];       /* monitors: a claim / a refund of the leg took effect */
bool refunded_ever[2];

byte mp[6];                 /* mempool, mp[3*leg + kind]: blocks left to include it; 0: none */
bool secret_public;         /* the secret is readable by anyone: in a mempool or on a chain */

bool honest[2];             /* honest[S]: the seller is honest; honest[B]: the buyer is */

/* an honest relayer's store (survives a crash) */
byte ob[2];                 /* confirmed events it recorded (OB_* bits) */
bool decided[6];            /* decided[3*side + effect]: the effect was decided */
byte due[6];                /* due[3*side + effect]: its send-by time; 0: sent (or none) */
bool abandoned;             /* the seller's reveal could no longer land in time: not sent */
/* an honest relayer's volatile state (lost in a crash) */
byte next_poll[2];          /* when it polls next */
byte crashes;               /* crashes so far (at most MAX_CRASHES in a run) */

byte hostile_done;          /* a hostile side's one-shot actions taken (bits) */

byte i, j, x;               /* scratch */

#ifndef MAX_CRASHES
#define MAX_CRASHES 1
#endif

/* ------------------------------------------------------------------ chains */

/* put a transaction in the mempool: included within n blocks; duplicates merge */
inline send(who, l, k, n) {
  printf("t=%d %e sends the %e %e\n", t, who, LEGNAME(l), TXNAME(k));
  if
  :: mp[3 * l + k] == 0 || mp[3 * l + k] > n -> mp[3 * l + k] = n
  :: else -> skip
  fi
}

/* a transaction lands in the block just produced: the HTLC's rules */
inline execute(l, k) {
  mp[3 * l + k] = 0;
  if
  :: k == TLOCK && lst[l] == NOLOCK ->
       lst[l] = OPEN; ldep[l] = 0;
       printf("t=%d %e chain, block clock %d: %e locked\n", t, LEGNAME(l), clk[l], LEGNAME(l))
  :: k == TCLAIM && lst[l] == OPEN && clk[l] < DL(l) ->
       lst[l] = CLAIMED; sdep[l] = 0; claimed_ever[l] = true;
       printf("t=%d %e chain, block clock %d: %e claimed (deadline %d)\n", t, LEGNAME(l), clk[l], LEGNAME(l), DL(l))
  :: k == TREFUND && lst[l] == OPEN && clk[l] >= DL(l) ->
       lst[l] = REFUNDED; sdep[l] = 0; refunded_ever[l] = true;
       printf("t=%d %e chain, block clock %d: %e refunded (deadline %d)\n", t, LEGNAME(l), clk[l], LEGNAME(l), DL(l))
  :: else ->  /* reverted: a second lock, a claim too late, a refund too early */
       printf("t=%d %e chain, block clock %d: the %e %e reverted (deadline %d)\n", t, LEGNAME(l), clk[l], LEGNAME(l), TXNAME(k), DL(l))
  fi
}

/* each pending transaction is included now or, if it may still wait, later */
inline include(l, k) {
  if
  :: mp[3 * l + k] == 1 -> execute(l, k)
  :: mp[3 * l + k] > 1 -> execute(l, k)
  :: mp[3 * l + k] > 1 -> mp[3 * l + k]--
  :: mp[3 * l + k] == 0 -> skip
  fi
}

inline produce_block(c) {
  since[c] = 0;
  if
  :: ROUND(c) -> clk[c]++
  :: else ->
       /* a timestamp above its parent's, within DRIFT of real time */
       i = (clk[c] + 1 > t - DRIFT(c) -> clk[c] + 1 : t - DRIFT(c));
       j = t + DRIFT(c);
       assert(i <= j);
       select (x : i .. j);
       clk[c] = x
  fi;
  /* one more block on top of what the chain already holds */
  if
  :: lst[c] != NOLOCK && ldep[c] < CONF(c) -> ldep[c]++
  :: else -> skip
  fi;
  if
  :: (lst[c] == CLAIMED || lst[c] == REFUNDED) && sdep[c] < CONF(c) -> sdep[c]++
  :: else -> skip
  fi;
  include(c, TLOCK);
  include(c, TCLAIM);
  include(c, TREFUND)
}

/* a block is due after BMAX s and possible after BMIN s */
inline chain_step(c) {
  if
  :: since[c] >= BMAX(c) -> produce_block(c)
  :: since[c] >= BMIN(c) && since[c] < BMAX(c) -> produce_block(c)
  :: since[c] < BMAX(c) -> skip
  fi
}

/* ------------------------------------------------------------------ the honest relayer */

/* record what is confirmed (CONF blocks deep): the watcher's events, kept in the store */
inline observe(r, l) {
  if
  :: lst[l] != NOLOCK && ldep[l] >= CONF(l) -> ob[r] = ob[r] | OB_LOCK(l)
  :: else -> skip
  fi;
  if
  :: lst[l] == CLAIMED && sdep[l] >= CONF(l) -> ob[r] = ob[r] | OB_CLAIM(l)
  :: lst[l] == REFUNDED && sdep[l] >= CONF(l) -> ob[r] = ob[r] | OB_REFUND(l)
  :: else -> skip
  fi
}

/* decide an effect: persisted with a send-by time within REACT of this poll */
inline decide(r, e) {
  decided[3 * r + e] = true;
  select (i : 0 .. REACT);
  due[3 * r + e] = t + i;
  printf("t=%d %e decides to %e, sending at t=%d\n", t, WHO(r), EFFECTNAME(r, e), t + i)
}

#define SECRET_SEEN(r) ((ob[r] & (OB_CLAIM(SEC) | OB_CLAIM(CASH))) != 0)
#define OPEN_SEEN(r, l) ((ob[r] & OB_LOCK(l)) != 0 && (ob[r] & OB_SETTLED(l)) == 0)

/* the engine's rules (bridge/swap.py), each side's share, on recorded facts and the heads */
inline poll(r) {
  observe(r, SEC);
  observe(r, CASH);
  if
  :: r == S ->
       /* rule 3: reveal only after both locks are confirmed, while the cash chain's time
        * is at most REVEAL_BY (the reveal's inclusion time before the cash deadline) */
       if
       :: (!decided[3 * S + E_OWN] && (ob[S] & OB_LOCK(SEC)) != 0 && OPEN_SEEN(S, CASH) &&
           !SECRET_SEEN(S) && clk[CASH] <= REVEAL_BY) -> decide(S, E_OWN)
       :: else -> skip
       fi;
       /* rule 4: once the secret is public the security is claimed, never refunded */
       if
       :: !decided[3 * S + E_CLAIM] && SECRET_SEEN(S) && OPEN_SEEN(S, SEC) ->
            decide(S, E_CLAIM)
       :: else -> skip
       fi;
       /* rule 5: the security is refunded after its deadline, seen on its own chain */
       if
       :: (!decided[3 * S + E_REFUND] && !SECRET_SEEN(S) && OPEN_SEEN(S, SEC) &&
           clk[SEC] >= D_SEC) -> decide(S, E_REFUND)
       :: else -> skip
       fi
  :: else ->
       /* rule 2: lock the cash once the security lock is confirmed, while it may */
       if
       :: !decided[3 * B + E_OWN] && (ob[B] & OB_LOCK(SEC)) != 0 && clk[CASH] <= LOCK_BY ->
            decide(B, E_OWN)
       :: else -> skip
       fi;
       /* rule 4: a confirmed claim made the secret public: claim the security */
       if
       :: !decided[3 * B + E_CLAIM] && SECRET_SEEN(B) && OPEN_SEEN(B, SEC) ->
            decide(B, E_CLAIM)
       :: else -> skip
       fi;
       /* rule 5: refund the cash after its deadline */
       if
       :: !decided[3 * B + E_REFUND] && OPEN_SEEN(B, CASH) && clk[CASH] >= D_CASH ->
            decide(B, E_REFUND)
       :: else -> skip
       fi
  fi
}

/* the executor: send each decided effect at its send-by time */
inline execute_effects(r) {
  if
  :: due[3 * r + E_OWN] == t ->
       if
       :: r == S ->
            /* checked again when it is sent: never a reveal that may land too late
             * (issue 13, item 5: the executor holds it past REVEAL_BY) */
            if
            :: clk[CASH] <= REVEAL_BY ->
                 send(seller_relayer, CASH, TCLAIM, CASH_INCL); secret_public = true
            :: else -> abandoned = true;
                 printf("t=%d seller_relayer abandons the reveal: it could land too late\n", t)
            fi
       :: else -> send(buyer_relayer, CASH, TLOCK, CASH_INCL)
       fi;
       due[3 * r + E_OWN] = 0
  :: else -> skip
  fi;
  if
  :: due[3 * r + E_CLAIM] == t -> send(WHO(r), SEC, TCLAIM, SEC_INCL); due[3 * r + E_CLAIM] = 0
  :: else -> skip
  fi;
  if
  :: due[3 * r + E_REFUND] == t ->
       if
       :: r == S -> send(seller_relayer, SEC, TREFUND, SEC_INCL)
       :: else -> send(buyer_relayer, CASH, TREFUND, CASH_INCL)
       fi;
       due[3 * r + E_REFUND] = 0
  :: else -> skip
  fi
}

/* one second of an honest relayer: maybe crash, poll when due, send what is due */
inline relayer_step(r) {
  if
  :: crashes < MAX_CRASHES && (due[3 * r] + due[3 * r + 1] + due[3 * r + 2]) != 0 ->
       /* killed between deciding an effect (stored) and sending it, and restarted from
        * the store: the poll schedule is lost, the restarted process polls at once and
        * sends what the store says is due (its downtime is part of REACT) */
       crashes++; next_poll[r] = t;
       printf("t=%d %e crashes and restarts from its store\n", t, WHO(r))
  :: true -> skip
  fi;
  if
  :: next_poll[r] == t ->
       x = ob[r];
       poll(r); next_poll[r] = t + POLL;
       if
       :: x != ob[r] ->
            printf("t=%d %e records confirmed events (heads: security %d, cash %d; store %d)\n",
                   t, WHO(r), clk[SEC], clk[CASH], ob[r])
       :: else -> skip
       fi
  :: else -> skip
  fi;
  execute_effects(r)
}

/* ------------------------------------------------------------------ the hostile side */

#define H_LOCK   1
#define H_CLAIM  2
#define H_REFUND 4

inline hostile_seller_acts() {
  if
  :: skip
  :: !(hostile_done & H_LOCK) ->                 /* locks late (or never) */
       hostile_done = hostile_done | H_LOCK; send(hostile_seller, SEC, TLOCK, SEC_INCL)
  :: !(hostile_done & H_CLAIM) && lst[CASH] == OPEN ->   /* reveals whenever it likes */
       hostile_done = hostile_done | H_CLAIM; send(hostile_seller, CASH, TCLAIM, CASH_INCL);
       secret_public = true
  :: !(hostile_done & H_REFUND) && lst[SEC] == OPEN && clk[SEC] >= D_SEC ->
       hostile_done = hostile_done | H_REFUND; send(hostile_seller, SEC, TREFUND, SEC_INCL)
  fi
}

inline hostile_buyer_acts() {
  if
  :: skip
  :: !(hostile_done & H_LOCK) ->                 /* locks late (or never) */
       hostile_done = hostile_done | H_LOCK; send(hostile_buyer, CASH, TLOCK, CASH_INCL)
  :: !(hostile_done & H_CLAIM) && secret_public && lst[SEC] == OPEN ->
       /* front-runs: claims the security as soon as the secret is in a mempool */
       hostile_done = hostile_done | H_CLAIM; send(hostile_buyer, SEC, TCLAIM, SEC_INCL)
  :: !(hostile_done & H_REFUND) && lst[CASH] == OPEN && clk[CASH] >= D_CASH ->
       hostile_done = hostile_done | H_REFUND; send(hostile_buyer, CASH, TREFUND, CASH_INCL)
  fi
}

/* ------------------------------------------------------------------ invariants */

/* leg l can no longer be claimed: refunded, or unclaimed with its deadline passed */
#define CANNOT_CLAIM(l) (lst[l] == REFUNDED || (lst[l] != CLAIMED && clk[l] >= DL(l)))
#define SELLER_LOST (honest[S] && lst[SEC] == CLAIMED && CANNOT_CLAIM(CASH))
#define BUYER_LOST  (honest[B] && lst[CASH] == CLAIMED && CANNOT_CLAIM(SEC))
#define SEEN(r, l)  ((ob[r] & OB_SETTLED(l)) != 0)
#define SELLER_OPEN (honest[S] && (lst[SEC] == OPEN || !SEEN(S, SEC)))
#define BUYER_OPEN  (honest[B] && decided[3 * B + E_OWN] && (lst[CASH] == OPEN || !SEEN(B, CASH)))

/* One assertion a line, each tagged: the verifier names a violated one by its tag. */
inline check_invariants() {
  assert(!(claimed_ever[SEC] && refunded_ever[SEC]));    /* invariant: claimed_and_refunded */
  assert(!(claimed_ever[CASH] && refunded_ever[CASH]));  /* invariant: claimed_and_refunded */
  assert(!SELLER_LOST);                                  /* invariant: honest_seller_lost */
  assert(!BUYER_LOST)                                    /* invariant: honest_buyer_lost */
}

/* at T_FINAL: every honest side's own lock is settled and its relayer has seen it */
inline check_final() {
  assert(!SELLER_OPEN);                                  /* invariant: swap_not_ended */
  assert(!BUYER_OPEN);                                   /* invariant: swap_not_ended */
  assert(!honest[S] || lst[SEC] != CLAIMED || lst[CASH] == CLAIMED); /* invariant: honest_seller_lost */
  assert(!honest[B] || lst[CASH] != CLAIMED || lst[SEC] == CLAIMED)  /* invariant: honest_buyer_lost */
}

/* ------------------------------------------------------------------ the end */

/* nothing can change what an honest side ends with any more (checked early, to keep the
 * search small; check_final holds then) */
#define SELLER_DONE (lst[SEC] == REFUNDED && SEEN(S, SEC) || \
                     lst[SEC] == CLAIMED && SEEN(S, SEC) && lst[CASH] == CLAIMED)
#define BUYER_DONE  (!decided[3 * B + E_OWN] && clk[CASH] > LOCK_BY || \
                     lst[CASH] == REFUNDED && SEEN(B, CASH) || \
                     lst[CASH] == CLAIMED && SEEN(B, CASH) && lst[SEC] == CLAIMED)
#define ENDED ((!honest[S] || SELLER_DONE) && (!honest[B] || BUYER_DONE))

/* ------------------------------------------------------------------ the run */

init {
  atomic {
    /* who is honest: the seller, the buyer, or both (one relayer for both sides) */
    if
    :: honest[B] = true
    :: honest[S] = true; honest[B] = true
    :: honest[S] = true
    fi;
    t = T0;
    /* each chain's latest block is up to BMAX - 1 s old */
    select (i : 0 .. SEC_BMAX - 1); since[SEC] = i;
    select (i : 0 .. CASH_BMAX - 1); since[CASH] = i;
    clk[CASH] = (CASH_ROUND -> 0 : t - since[CASH]);
    clk[SEC] = (SEC_ROUND -> 0 : t - since[SEC]);
    /* the relayers' polls: any phase */
    select (i : 1 .. POLL); next_poll[S] = t + i;
    select (i : 1 .. POLL); next_poll[B] = t + i;
    /* the compliance decision allowed the trade: the honest seller locks at once */
    if
    :: honest[S] -> send(seller_relayer, SEC, TLOCK, SEC_INCL)
    :: else -> skip
    fi;
    i = 0
  }
  do
  :: atomic {
       t < T_FINAL && !ENDED ->
       since[SEC]++; since[CASH]++; t++;
       chain_step(SEC);
       chain_step(CASH);
       if :: honest[S] -> relayer_step(S) :: else -> skip fi;
       if :: honest[B] -> relayer_step(B) :: else -> skip fi;
       if
       :: !honest[S] -> hostile_seller_acts()
       :: !honest[B] -> hostile_buyer_acts()
       :: else -> skip
       fi;
       check_invariants();
       i = 0; j = 0; x = 0  /* scratch is not state */
     }
  :: atomic { (t == T_FINAL || ENDED) -> check_final(); break }
  od
}

/* ------------------------------------------------------------------ reachability probes */

/* Each probe claims a situation never happens; the verifier expects spin to find it
 * (`pan -N name`), which shows the model really explores it. The invariants above are
 * checked with the probes off (`pan -noclaim`). */
ltl completed_after_crash { [] !(honest[S] && honest[B] && crashes > 0 &&
                                 lst[SEC] == CLAIMED && lst[CASH] == CLAIMED) }
ltl reveal_in_last_round  { [] !(!honest[S] && honest[B] && lst[CASH] == CLAIMED &&
                                 sdep[CASH] == 0 && clk[CASH] == D_CASH - 1) }
ltl front_run_claim       { [] !(honest[S] && !honest[B] && lst[SEC] == CLAIMED &&
                                 lst[CASH] == OPEN) }
ltl reveal_abandoned      { [] !(abandoned && lst[SEC] == REFUNDED) }
