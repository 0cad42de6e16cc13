//! Benchmarks live in `benches/benches/`; each prints its figures beside a baseline
//! measured in the same run (see `benches/RESULTS.md` for the recorded figures and the
//! commands that produced them). This library is empty.
