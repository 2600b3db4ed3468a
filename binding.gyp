{
  "targets": [
    {
      "target_name": "nlnet",
      "sources": [
        "native/addon.cc",
        "native/attr.cc",
        "native/codec.cc",
        "native/tape.cc",
        "native/errors.cc",
        "native/socket.cc",
        "native/netns.cc",
        "native/handle.cc",
        "native/events.cc",
        "native/link.cc",
        "native/link_veth.cc",
        "native/link_bridge.cc",
        "native/link_vxlan.cc",
        "native/link_macvlan.cc",
        "native/link_ipvlan.cc",
        "native/link_vlan.cc",
        "native/bridge_port.cc",
        "native/addr.cc",
        "native/route.cc",
        "native/neigh.cc",
        "native/registry.cc",
        "native/nft_table.cc",
        "native/nft_chain.cc",
        "native/nft_rule.cc",
        "native/nft_set.cc",
        "native/nft_expr_payload.cc",
        "native/nft_expr_meta.cc",
        "native/nft_expr_cmp.cc",
        "native/nft_expr_immediate.cc",
        "native/nft_expr_counter.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "NODE_ADDON_API_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags_cc": ["-std=c++20", "-fexceptions", "-Wall", "-Wextra", "-Werror", "-Wno-missing-field-initializers", "-Wno-cast-function-type"]
    }
  ]
}
