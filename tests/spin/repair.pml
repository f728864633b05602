/* Loss confirmation and repair claims of one slot (docs/protocol.md, "Loss
 * detection", "Repair", "Two holders of one slot"), model-checked with spin.
 *
 * Three watchers W0..W2 watch holder H. H may fail for good, or stay up
 * while one watcher (W0) has a bad link to it and finds it lost anyway.
 * A watcher that finds the slot lost tells the other two (LossReport, which
 * the network may lose); a loss is confirmed once two distinct watchers
 * reported it, and a confirming watcher asks the two repair candidates
 * C0 (rank 0, better by the claim order) and C1. A candidate claims after
 * its back-off (any interleaving), tells the other candidate (Claim, also
 * lossy), and cancels when it hears a better claim; one that hears a worse
 * claim first claims at once. Claims that crossed leave both candidates
 * holding the slot: then the worse one audits the better one and steps
 * down once the better one proves it holds the slot.
 *
 * Checked: a single watcher's bad link never confirms a loss and never
 * starts a repair (safety, in every interleaving and with any messages
 * lost); once everything has settled (every end state), a failed holder's
 * slot is held by exactly one candidate if the requests reached them, and
 * never by two.
 */

#define W 3
#ifndef CONFIRMATIONS
#define CONFIRMATIONS 2   /* loss_confirmations; run.sh also checks 1 fails */
#endif

bool holder_up = true;
bool bad_link = false;         /* W0's link to H is bad (H stays up) */
byte reporters[W];             /* reporters[w]: bitmask of reporters known to watcher w */
bool confirmed = false;        /* some watcher confirmed the loss */
bool requested[2];             /* candidate i was asked to rebuild */
bool claimed[2];
bool cancelled[2];
bool stored[2];

chan loss[W] = [2] of { byte };   /* LossReport: the reporter */
chan claim[2] = [1] of { byte };  /* Claim: the claimant */

inline report(w) {
  /* w finds the slot lost: counts itself, tells the others (each copy may be lost) */
  reporters[w] = reporters[w] | (1 << w);
  byte o;
  for (o : 0 .. W - 1) {
    if
    :: o != w -> if :: loss[o] ! w :: skip fi   /* delivered, or lost */
    :: else -> skip
    fi
  }
}

#define REPORTERS(m) ((((m) >> 0) & 1) + (((m) >> 1) & 1) + (((m) >> 2) & 1))

proctype Watcher(byte w) {
  byte from;
  bool noticed = false;
end:
  do
  :: atomic { !noticed && (!holder_up || (w == 0 && bad_link)) -> noticed = true; report(w) }
  :: atomic { loss[w] ? from -> reporters[w] = reporters[w] | (1 << from) }
  :: atomic { REPORTERS(reporters[w]) >= CONFIRMATIONS && !confirmed ->
       confirmed = true;
       assert(!holder_up);          /* one bad link never confirms a loss */
       requested[0] = true; requested[1] = true }
  od
}

proctype Candidate(byte i) {
  byte from;
  byte other = 1 - i;
end_idle:
  requested[i];
end:
  do
  :: !claimed[i] && !cancelled[i] ->                 /* its back-off ran out */
       claimed[i] = true;
       if :: claim[other] ! i :: skip fi
  :: claim[i] ? from ->
       if
       :: from < i -> cancelled[i] = true; stored[i] = false; break   /* a better claim */
       :: else -> if
                  :: !claimed[i] -> claimed[i] = true; if :: claim[other] ! i :: skip fi
                  :: else -> skip
                  fi
       fi
  :: claimed[i] && !cancelled[i] && !stored[i] -> stored[i] = true   /* rebuilt */
  :: i == 1 && stored[1] && stored[0] ->
       /* two holders: the worse audits the better, which proves it holds the
          slot, and steps down */
       stored[1] = false; cancelled[1] = true; break
  od
}

init {
  if
  :: holder_up = false      /* the holder fails for good */
  :: bad_link = true        /* or stays up behind W0's bad link */
  fi;
  atomic {
    run Watcher(0); run Watcher(1); run Watcher(2);
    run Candidate(0); run Candidate(1)
  }
  timeout;  /* everything has settled: every process waits for a message that will not come */
  assert(!(stored[0] && stored[1]));            /* never two holders in the end */
  assert(!holder_up || !(requested[0] || requested[1]));
  assert(!confirmed || stored[0] || stored[1])  /* a confirmed loss is rebuilt */
}
