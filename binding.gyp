{
  "targets": [
    {
      "target_name": "floe_native",
      "sources": ["native/record_scan.c", "native/records_page.c"],
      "cflags": ["-O3", "-ffp-contract=off", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "xcode_settings": { "OTHER_CFLAGS": ["-O3", "-ffp-contract=off"] }
    }
  ]
}
