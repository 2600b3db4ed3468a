// log: to the kernel log, or to an nflog group (`log prefix "x"`, `log group 2`). Follows
// NFTA_LOG_*; the kernel reads the group and the queue threshold as big-endian u16, whatever the
// header's comment says. Flags are NF_LOG_* from <linux/netfilter/nf_log.h>.
#include <linux/netfilter/nf_tables.h>

#include "nft/nft.h"

namespace nlnet {

namespace {
const EnumName kLevels[] = {
    {NFT_LOGLEVEL_EMERG, "emerg"}, {NFT_LOGLEVEL_ALERT, "alert"},   {NFT_LOGLEVEL_CRIT, "crit"},
    {NFT_LOGLEVEL_ERR, "err"},     {NFT_LOGLEVEL_WARNING, "warn"}, {NFT_LOGLEVEL_NOTICE, "notice"},
    {NFT_LOGLEVEL_INFO, "info"},   {NFT_LOGLEVEL_DEBUG, "debug"},  {NFT_LOGLEVEL_AUDIT, "audit"}};
const EnumTable kLevelTable = enum_table(kLevels);
}  // namespace

const Schema& nft_expr_log() {
  static const Schema s{"log",
                        0,
                        {},
                        {
                            {NFTA_LOG_PREFIX, "prefix", FieldKind::STR},
                            {NFTA_LOG_GROUP, "group", FieldKind::BE16},
                            {NFTA_LOG_SNAPLEN, "snaplen", FieldKind::BE32},
                            {NFTA_LOG_QTHRESHOLD, "qthreshold", FieldKind::BE16},
                            {NFTA_LOG_LEVEL, "level", FieldKind::ENUMB32, &kLevelTable},
                            {NFTA_LOG_FLAGS, "flags", FieldKind::BE32},
                        }};
  return s;
}

}  // namespace nlnet
