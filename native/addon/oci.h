// The addon's functions for minipod-oci (oci.cc).
#ifndef MP_ADDON_OCI_H
#define MP_ADDON_OCI_H
#include <napi.h>
void mp_oci_init(Napi::Env env, Napi::Object exports);
#endif
