{
  "targets": [
    {
      "target_name": "shm_native",
      "sources": [
        "cpp/addon.cc",
        "cpp/common/errors.cc",
        "cpp/common/mapping.cc",
        "cpp/common/async_dispatch.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "cpp"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "NAPI_CPP_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags_cc!": ["-fno-exceptions"],
      "conditions": [
        ["OS=='linux'", {
          "sources": ["cpp/posix/fd_ops.cc", "cpp/posix/process.cc", "cpp/linux/memfd.cc", "cpp/linux/futex.cc",
                      "cpp/linux/futex_waitv.cc", "cpp/common/thread_waiter.cc",
                      "cpp/sysv/shm.cc", "cpp/sysv/sem.cc", "cpp/sysv/sem_table.cc", "cpp/sysv/sem_wait.cc",
                      "cpp/sysv/guarded_copy.cc"]
        }],
        ["OS=='mac'", {
          "sources": ["cpp/posix/fd_ops.cc", "cpp/posix/process.cc", "cpp/darwin/ulock.cc",
                      "cpp/common/thread_waiter.cc",
                      "cpp/sysv/shm.cc", "cpp/sysv/sem.cc", "cpp/sysv/sem_table.cc", "cpp/sysv/sem_wait.cc",
                      "cpp/sysv/guarded_copy.cc"],
          "xcode_settings": { "GCC_ENABLE_CPP_EXCEPTIONS": "YES", "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
                              "MACOSX_DEPLOYMENT_TARGET": "11.0" }
        }],
        ["OS=='win'", {
          "sources": ["cpp/win32/win32_util.cc", "cpp/win32/mapping_win.cc", "cpp/win32/sync_win.cc",
                      "cpp/win32/process_win.cc"],
          "msvs_settings": { "VCCLCompilerTool": { "ExceptionHandling": 1, "AdditionalOptions": ["/std:c++17"] } }
        }]
      ]
    }
  ]
}
