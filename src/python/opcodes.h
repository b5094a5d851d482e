/* SPDX-License-Identifier: MIT
 *
 * Which bytecode instructions call into C, per Python minor version: the
 * "call family" (CALL_FUNCTION, CALL, PRECALL_NO_KW_BUILTIN_O, CALL_LEN,
 * INSTRUMENTED_CALL ...; not the ones that only push a Python frame). The
 * python/native/system split (sampler/classify.h) asks it for a thread whose
 * program counter is in the interpreter but outside its eval loop: a builtin
 * called by the innermost frame's instruction (native), or a helper of that
 * instruction (python). The tables are data, printed by each interpreter's
 * own opcode/dis modules (tools/opcode_calls.py), specialized instructions
 * of 3.11+ included.
 */
#ifndef CSPY_OPCODES_H
#define CSPY_OPCODES_H

#include <stdbool.h>

/* Is opcode (0-255) a call-family instruction of the minor version of
 * PY_VERSION_HEX version? false for an unknown version or opcode (-1). A
 * minor newer than every table uses the newest one. */
bool opcodes_is_call(unsigned version, int opcode);
/* Is there a table for version's minor (not the newest one's stand-in)? */
bool opcodes_known(unsigned version);

#endif
