# NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS: a call from a data worker thread that is being terminated (or from a
# process exiting on an error) fails because its environment can no longer run JS; node-addon-api then rethrows the
# error as a C++ exception out of the N-API callback, which aborts the process, unless this is defined.
{
  "targets": [
    {
      "target_name": "tasksr_native",
      "sources": [
        "native/src/addon.cc",
        "native/src/cpu_allocator.cc",
        "native/src/creation.cc",
        "native/src/views.cc",
        "native/src/math.cc",
        "native/src/nn.cc",
        "native/src/autograd.cc",
        "native/src/optim.cc",
        "native/src/distributed.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node scripts/find-libtorch.mjs --print includes)",
        "native/shim"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS", "<!@(node scripts/find-libtorch.mjs --print defines)"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-O2", "-Wno-unused-parameter", "-Wno-deprecated-declarations"],
      "libraries": ["<!@(node scripts/find-libtorch.mjs --print libs)"]
    },
    {
      "target_name": "tasksr_image",
      "sources": ["native/image/image.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-O3"],
      "libraries": ["-lturbojpeg", "-lz"]
    }
  ]
}
