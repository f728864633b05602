// The whitepaper's chain over (lost slots l, observed losses f), solved for
// the probability of absorption (l = M+1) within the horizon.
//
// Numerics: the answers of interest are tiny (1e-9 and far below), so the
// solver never subtracts probabilities. Uniformization turns the generator Q
// into the non-negative matrix P = I + Q/Λ (Λ the largest exit rate); the
// absorbed mass after j jumps of P is a sum of products of non-negative
// numbers, and the answer is the Poisson(ΛT)-weighted sum of those masses,
// again all non-negative. Relative accuracy therefore stays near machine
// precision however small the probability is. When ΛT is so large that
// stepping a vector is costlier than squaring a matrix (fast proofs over a
// long horizon), the same non-negative series computes exp(Qτ) for a short
// τ = T/2^s and s squarings give exp(QT): still no subtraction.
#include "codex/sim/durability.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace codex::sim {
namespace {

constexpr int kMaxSlots = 1024;

// One transition of the chain: from a transient state to `to` (a transient
// state, or `absorbed`) at `rate` per hour.
struct Edge {
  std::uint32_t from;
  std::uint32_t to;
  double rate;
};

struct Chain {
  std::size_t states = 0;          // transient states; index `states` is the absorbing one
  std::vector<Edge> edges;
  std::vector<double> exit_rate;   // per transient state
};

std::uint32_t index_of(int lost, int observed) {
  return static_cast<std::uint32_t>(lost * (lost + 1) / 2 + observed);
}

Chain build(const DurabilityParameters& p) {
  const int n = p.k + p.m;
  Chain chain;
  chain.states = static_cast<std::size_t>((p.m + 1) * (p.m + 2) / 2);
  chain.exit_rate.assign(chain.states, 0.0);
  const auto absorbed = static_cast<std::uint32_t>(chain.states);
  const double fail = 1.0 / p.mttf_hours;
  const double observe = 1.0 / (p.proof_interval_hours * p.missed_proofs);
  const double repair = 1.0 / p.mttr_hours;
  auto add = [&](std::uint32_t from, std::uint32_t to, double rate) {
    if (rate <= 0) return;
    chain.edges.push_back({from, to, rate});
    chain.exit_rate[from] += rate;
  };
  for (int lost = 0; lost <= p.m; ++lost) {
    for (int observed = 0; observed <= lost; ++observed) {
      const std::uint32_t here = index_of(lost, observed);
      // Another holder fails: more than M lost is the end of the dataset.
      add(here, lost + 1 > p.m ? absorbed : index_of(lost + 1, observed), (n - lost) * fail);
      // The next proof of one of the lost but unobserved slots is missed.
      if (observed < lost) add(here, index_of(lost, observed + 1), (lost - observed) * observe);
      // Enough observed losses: a repair restores every slot.
      if (observed >= p.l0 && here != 0) add(here, index_of(0, 0), repair);
    }
  }
  return chain;
}

// log of the Poisson(mean) probability of j.
double log_poisson(double mean, std::uint64_t j) {
  return -mean + static_cast<double>(j) * std::log(mean) - std::lgamma(static_cast<double>(j) + 1.0);
}

// Jumps beyond which the Poisson(mean) tail is negligible (< 1e-25 of the mass).
std::uint64_t poisson_cutoff(double mean) { return static_cast<std::uint64_t>(std::ceil(mean + 12.0 * std::sqrt(mean) + 60.0)); }

// Uniformization on a vector: P(absorbed by T) = Σ_j Poisson(ΛT; j) a_j.
double absorbed_by_vector(const Chain& chain, double uniform_rate, double horizon, std::uint64_t& steps) {
  const std::size_t n = chain.states;
  std::vector<double> v(n, 0.0), next(n, 0.0);
  v[0] = 1.0;
  double absorbed = 0.0;  // a_j: mass absorbed after j jumps (non-decreasing)
  const double mean = uniform_rate * horizon;
  const std::uint64_t last = poisson_cutoff(mean);
  double total = 0.0;
  for (std::uint64_t j = 0; j <= last; ++j) {
    total += std::exp(log_poisson(mean, j)) * absorbed;
    // one jump of P = I + Q/Λ
    for (std::size_t s = 0; s < n; ++s) next[s] = v[s] * (1.0 - chain.exit_rate[s] / uniform_rate);
    for (const Edge& e : chain.edges) {
      const double flow = v[e.from] * (e.rate / uniform_rate);
      if (e.to == n) absorbed += flow;
      else next[e.to] += flow;
    }
    v.swap(next);
  }
  steps = last + 1;
  return total;
}

using Matrix = std::vector<double>;  // dense, (n+1) x (n+1), row-major

Matrix multiply(const Matrix& a, const Matrix& b, std::size_t n) {
  Matrix c(n * n, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t k = 0; k < n; ++k) {
      const double x = a[i * n + k];
      if (x == 0.0) continue;
      for (std::size_t j = 0; j < n; ++j) c[i * n + j] += x * b[k * n + j];
    }
  return c;
}

// exp(QT) by exp(Qτ)^(2^s), each factor a non-negative Poisson series of P.
double absorbed_by_squaring(const Chain& chain, double uniform_rate, double horizon, std::uint64_t& steps) {
  const std::size_t n = chain.states + 1;
  int squarings = 0;
  double tau = horizon;
  while (uniform_rate * tau > 1.0) {
    tau /= 2;
    ++squarings;
  }
  Matrix p(n * n, 0.0);
  for (std::size_t s = 0; s < chain.states; ++s) p[s * n + s] = 1.0 - chain.exit_rate[s] / uniform_rate;
  p[(n - 1) * n + (n - 1)] = 1.0;
  for (const Edge& e : chain.edges) p[e.from * n + e.to] += e.rate / uniform_rate;
  const double mean = uniform_rate * tau;
  Matrix term(n * n, 0.0), result(n * n, 0.0);
  for (std::size_t i = 0; i < n; ++i) term[i * n + i] = 1.0;  // P^0
  const std::uint64_t last = poisson_cutoff(mean);
  for (std::uint64_t j = 0; j <= last; ++j) {
    const double w = std::exp(log_poisson(mean, j));
    for (std::size_t i = 0; i < n * n; ++i) result[i] += w * term[i];
    term = multiply(term, p, n);
  }
  for (int i = 0; i < squarings; ++i) result = multiply(result, result, n);
  steps = last + 1 + static_cast<std::uint64_t>(squarings);
  return result[n - 1];  // row of state (0,0), column of the absorbing state
}

// Mean time to absorption from (0,0): solve (-Q_T) t = 1. -Q_T is an
// M-matrix, so elimination without pivoting is stable; dense, so only for
// chains of modest size.
double mean_time_to_loss(const Chain& chain) {
  const std::size_t n = chain.states;
  Matrix a(n * n, 0.0);
  std::vector<double> b(n, 1.0);
  for (std::size_t s = 0; s < n; ++s) a[s * n + s] = chain.exit_rate[s];
  for (const Edge& e : chain.edges)
    if (e.to < n) a[e.from * n + e.to] -= e.rate;
  for (std::size_t k = 0; k < n; ++k) {
    const double pivot = a[k * n + k];
    if (!(pivot > 0)) return std::numeric_limits<double>::infinity();
    for (std::size_t i = k + 1; i < n; ++i) {
      const double factor = a[i * n + k] / pivot;
      if (factor == 0.0) continue;
      for (std::size_t j = k; j < n; ++j) a[i * n + j] -= factor * a[k * n + j];
      b[i] -= factor * b[k];
    }
  }
  std::vector<double> t(n, 0.0);
  for (std::size_t k = n; k-- > 0;) {
    double sum = b[k];
    for (std::size_t j = k + 1; j < n; ++j) sum -= a[k * n + j] * t[j];
    t[k] = sum / a[k * n + k];
  }
  return t[0];
}

bool positive_finite(double x) { return std::isfinite(x) && x > 0; }

}  // namespace

Status check(const DurabilityParameters& p) {
  if (p.k < 1) return make_error(Errc::usage, "k must be at least 1 (got {})", p.k);
  if (p.m < 0) return make_error(Errc::usage, "m must not be negative (got {})", p.m);
  if (p.k + p.m > kMaxSlots) return make_error(Errc::usage, "k+m must be at most {} (got {})", kMaxSlots, p.k + p.m);
  if (p.l0 < 1 || p.l0 > std::max(p.m, 1))
    return make_error(Errc::usage, "l0 must be between 1 and m={} (got {}): a larger threshold never repairs", std::max(p.m, 1), p.l0);
  if (p.missed_proofs < 1 || p.missed_proofs > 1000)
    return make_error(Errc::usage, "missed proofs must be between 1 and 1000 (got {})", p.missed_proofs);
  if (!positive_finite(p.mttf_hours)) return make_error(Errc::usage, "MTTF must be a positive duration");
  if (!positive_finite(p.mttr_hours)) return make_error(Errc::usage, "MTTR must be a positive duration");
  if (!positive_finite(p.proof_interval_hours)) return make_error(Errc::usage, "the proof interval must be a positive duration");
  if (!positive_finite(p.horizon_hours)) return make_error(Errc::usage, "the horizon must be a positive duration");
  return {};
}

Result<DurabilityResult> analyse(const DurabilityParameters& p) {
  CODEX_TRY(check(p));
  const Chain chain = build(p);
  double uniform_rate = 0;
  for (double r : chain.exit_rate) uniform_rate = std::max(uniform_rate, r);
  DurabilityResult result;
  result.states = chain.states;
  // Work of each method, in multiply-adds.
  const double jumps = uniform_rate * p.horizon_hours;
  const double vector_work = (jumps + 12 * std::sqrt(jumps)) * static_cast<double>(chain.edges.size() + chain.states);
  const double dim = static_cast<double>(chain.states + 1);
  const double squaring_work = dim * dim * dim * (std::log2(std::max(jumps, 1.0)) + 30);
  const bool by_vector = p.solver == DurabilityParameters::Solver::automatic
                             ? (vector_work <= 4e9 || vector_work <= squaring_work)
                             : p.solver == DurabilityParameters::Solver::vector;
  if (by_vector) {
    if (vector_work > 4e10) return make_error(Errc::usage, "the chain is too large to solve here ({} states over {:.3g} jumps)", chain.states, jumps);
    result.loss_probability = absorbed_by_vector(chain, uniform_rate, p.horizon_hours, result.steps);
  } else {
    if (squaring_work > 4e10) return make_error(Errc::usage, "the chain is too large to solve here ({} states over {:.3g} jumps)", chain.states, jumps);
    result.loss_probability = absorbed_by_squaring(chain, uniform_rate, p.horizon_hours, result.steps);
  }
  result.loss_probability = std::clamp(result.loss_probability, 0.0, 1.0);
  result.mean_time_to_loss_hours = chain.states <= 1200 ? mean_time_to_loss(chain) : std::numeric_limits<double>::quiet_NaN();
  return result;
}

Result<Sizing> smallest_code(const DurabilityParameters& base, double expansion, double target, int max_slots) {
  if (!(expansion > 1.0) || !std::isfinite(expansion) || expansion > 100)
    return make_error(Errc::usage, "expansion must be greater than 1 and at most 100 (got {})", expansion);
  if (!(target > 0 && target < 1)) return make_error(Errc::usage, "target loss probability must be in (0, 1) (got {})", target);
  max_slots = std::min(max_slots, kMaxSlots);
  for (int k = 1; k < max_slots; ++k) {
    const double exact_m = k * (expansion - 1.0);
    const double m = std::round(exact_m);
    if (std::fabs(exact_m - m) > 1e-9 || m < 1) continue;
    if (k + static_cast<int>(m) > max_slots) break;
    DurabilityParameters p = base;
    p.k = k;
    p.m = static_cast<int>(m);
    p.l0 = std::min(base.l0, p.m);
    if (base.l0 > p.m) continue;  // this code cannot wait for l0 losses
    CODEX_TRY_ASSIGN(DurabilityResult r, analyse(p));
    if (r.loss_probability <= target) return Sizing{p.k, p.m, r.loss_probability};
  }
  return make_error(Errc::not_found, "no code of expansion {} with at most {} slots reaches a loss probability of {:g}", expansion,
                    max_slots, target);
}

}  // namespace codex::sim
