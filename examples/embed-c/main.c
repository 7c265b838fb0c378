/* A C consumer that loads its config through invar's guarded loader: every
 * update is checked against the contract, and a bad one (oversized, doubled,
 * truncated...) never replaces the config in service. The consumer keeps
 * serving its last-known-good and says why.
 *
 * usage: embed-c CONTRACT UPDATE...   (each UPDATE is a file, applied in order)
 * Exits 0 when it served a config at the end, 1 when it never had one, 3 when
 * the contract does not load. */
#include <stdio.h>
#include <stdlib.h>

#include <invar/invar.h>

/* Reads a whole file; NULL on failure (the update is then skipped). */
static char* read_file(const char* path, size_t* len) {
  FILE* f = fopen(path, "rb");
  if (!f) return NULL;
  char* bytes = NULL;
  size_t cap = 0;
  *len = 0;
  for (;;) {
    if (*len == cap) {
      cap = cap ? cap * 2 : 65536;
      char* grown = realloc(bytes, cap);
      if (!grown) {
        free(bytes);
        fclose(f);
        return NULL;
      }
      bytes = grown;
    }
    size_t n = fread(bytes + *len, 1, cap - *len, f);
    *len += n;
    if (n == 0) break;
  }
  fclose(f);
  return bytes;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s CONTRACT UPDATE...\n", argv[0]);
    return 3;
  }
  invar_contract* contract = NULL;
  if (invar_contract_load(argv[1], &contract) != INVAR_OK) {
    fprintf(stderr, "cannot load the contract: %s\n", invar_last_error());
    return 3;
  }
  invar_guard* guard = NULL;
  if (invar_guard_new(contract, NULL, NULL, &guard) != INVAR_OK) {
    fprintf(stderr, "cannot create the guard: %s\n", invar_last_error());
    invar_contract_free(contract);
    return 3;
  }
  for (int i = 2; i < argc; ++i) {
    size_t len = 0;
    char* bytes = read_file(argv[i], &len);
    if (!bytes) {
      printf("update %s: unreadable file, skipped\n", argv[i]);
      continue;
    }
    invar_report* decision = NULL;
    invar_status status = invar_guard_update(guard, bytes, len, 0, &decision);
    free(bytes);
    if (status != INVAR_OK) {
      printf("update %s: cannot judge: %s\n", argv[i], invar_last_error());
      continue;
    }
    invar_verdict verdict = invar_report_verdict(decision);
    const char* what = verdict == INVAR_ACCEPT ? "accepted" : verdict == INVAR_PIN ? "rejected, keeping the last-known-good"
                                                                                  : "rejected, no config yet";
    printf("update %s: %s\n", argv[i], what);
    if (verdict != INVAR_ACCEPT && invar_report_violation_count(decision) > 0) {
      invar_violation v;
      if (invar_report_violation(decision, 0, &v) == INVAR_OK) printf("  because %s: %s\n", v.invariant, v.message);
    }
    invar_report_free(decision);
    const char* config = NULL;
    size_t config_len = 0;
    invar_guard_current(guard, &config, &config_len);
    if (config) printf("  serving a %zu-byte config\n", config_len);
    else printf("  serving nothing yet\n");
  }
  const char* config = NULL;
  size_t config_len = 0;
  invar_guard_current(guard, &config, &config_len);
  int code = config ? 0 : 1;
  invar_guard_free(guard);
  invar_contract_free(contract);
  return code;
}
