/* What the C examples of the headers and docs use without defining it
 * (tests/doc_examples.sh wraps each "c fragment" in a function after this). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <invar/invar.h>

const char* bytes = "{}"; /* a candidate artifact */
size_t len = 2;
