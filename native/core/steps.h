// Steps as the executors run them: operations encoded on the JS thread, then sent in order on
// one socket by whichever native thread runs them (a handle's worker, a job's namespace thread),
// stopping at the first failure; the replies decoded into a tape for JS. Shared by the handle's
// exec (handle.cc) and the job that does a whole attach in one native call (netns/job.cc).
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/codec.h"
#include "core/errors.h"
#include "core/socket.h"
#include "core/tape.h"

namespace nlnet {

struct Op {
  std::vector<uint8_t> msg;
  std::vector<Patch> patches;
  std::string created_name;  // a link this step creates, found by name if the kernel did not echo it
  bool dump = false;
  // The replies go to JS as the bytes the kernel sent, not decoded here: JS decodes a big dump
  // faster than it builds objects from a tape (lib/rtnl/wire/). The tape has [] for the step.
  bool raw = false;
};

struct StepResult {
  std::vector<uint8_t> replies;
  int32_t ifindex = 0;  // of the link this step created, when it created one
};

// Operations as JS passes them ([{ type, flags, body, name? }]) and, for an nf_tables
// transaction (options { batch: true, genid? }), its BEGIN and END. Throws a JS error on bad input.
struct OpList {
  int protocol = 0;
  std::vector<Op> ops;
  std::vector<uint8_t> begin, end;  // empty: not a transaction
};
OpList encode_ops(Napi::Env env, int protocol, const Napi::Value& ops, const Napi::Value& options);

// What running an OpList left: the results of the steps that ran and how it ended.
struct StepsOutcome {
  std::vector<StepResult> results;
  Failure failure;             // with .step set to the failing step
  bool interrupted = false;    // the failing step was a dump interrupted too often
  bool atomic_failure = false; // an nf_tables transaction refused: nothing applied
  int32_t job_netns = -1;      // the fd a job's namespace patches (Patch::kJobNetns) take
};

// Sends the operations in order (or as one transaction) on sock, retrying interrupted dumps.
void run_ops(NlSocket& sock, OpList& list, int dump_retries, StepsOutcome& out);

// The finished steps' replies as [[body…] per step] into t ([] for a raw step), then, after a
// dump interrupted too often, `partial` (what it read) when the caller opened an object for it.
void tape_results(Tape& t, int protocol, const StepsOutcome& o, const OpList& list);
void tape_partial(Tape& t, int protocol, const StepsOutcome& o, const OpList& list);
// How many steps finished; whether a dump interrupted too often follows them (`partial`).
size_t steps_done(const StepsOutcome& o);
bool has_partial(const StepsOutcome& o);

// Process-wide count of interrupted dumps retried.
uint64_t dump_retries_total();

}  // namespace nlnet
