// nf_tables messages as native.decode(NETLINK_NETFILTER, …) reads them: tables, chains, rules
// with their expression lists (native/nft/expr/*.cc, dynset's nested expressions included), sets,
// set elements, the generation and the batch envelope. One target for all: schema_for picks the
// schema from the message type, and rules reach most of the code.
#include <linux/netlink.h>

#include "nft/nft.h"
#include "decode.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nlnet;
  fuzz::decode_datagram(NETLINK_NETFILTER,
                        {&nft_table_schema(), &nft_chain_schema(), &nft_rule_schema(), &nft_set_schema(),
                         &nft_setelem_schema(), &nft_gen_schema(), &nft_batch_schema()},
                        data, size);
  return 0;
}
