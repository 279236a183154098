{
  # One build for everything native: the addon, the pause binary and (later) the per-pod
  # supervisor. The executor sources (native/exec) are compiled into both the addon and
  # the supervisor, so the two spawn containers with the very same code.
  "target_defaults": {
    "cflags": ["-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-format-truncation", "-Werror", "-fno-strict-aliasing"],
    "cflags_c": ["-std=gnu11"],
  },
  "targets": [
    {
      "target_name": "minipod",
      "sources": [
        "native/addon/addon.cc",
        "native/exec/json.c",
        "native/exec/plan.c",
        "native/exec/spawn.c",
        "native/exec/child.c",
        "native/exec/mounts.c",
        "native/exec/describe.c",
        "native/net/nl.c",
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags_cc": ["-fexceptions", "-std=c++17"],
      # Bind every symbol at load time: the spawn child must never enter the dynamic
      # linker (lazy binding takes locks another thread of Node may have held at the clone).
      "ldflags": ["-Wl,-z,now", "-Wl,-z,relro"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
    },
    {
      "target_name": "minipod-pause",
      "type": "executable",
      "sources": ["native/pause/pause.c"],
      "cflags": ["-Os"],
      "ldflags": ["-static", "-s"],
    },
    {
      "target_name": "minipod-shim",
      "type": "executable",
      "sources": [
        "native/shim/main.c",
        "native/shim/pod.c",
        "native/shim/logs.c",
        "native/shim/state.c",
        "native/shim/util.c",
        "native/shim/action.c",
        "native/shim/probes.c",
        "native/shim/layers.c",
        "native/shim/wire.c",
        "native/shim/jw.c",
        "native/shim/journal.c",
        "native/shim/unwind.c",
        "native/shim/control.c",
        "native/shim/cgroups.c",
        "native/shim/devices.c",
        "native/net/nl.c",
        "native/net/hostops.c",
        "native/exec/json.c",
        "native/exec/plan.c",
        "native/exec/spawn.c",
        "native/exec/child.c",
        "native/exec/mounts.c",
        "native/exec/describe.c",
      ],
      "cflags": ["-O2"],
      "ldflags": ["-static", "-s"],
    },
  ],
}
