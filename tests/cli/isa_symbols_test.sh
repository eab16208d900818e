#!/bin/bash
# isa_symbols_test.sh ARCHIVE...: no object compiled for an instruction set
# (*_avx2.cc, *_avx512.cc) defines a weak function.
#
# Why: an inline function or template instantiated in several objects (a
# header's inline member, std::vector<T>'s growth) is emitted as a weak
# symbol by each, and the linker keeps any one copy for every caller. If the
# copy kept is the AVX-512 object's, the scalar or AVX2 path runs AVX-512
# code and dies with SIGILL on a CPU without it, only in some builds (it
# happened: matmul_q_panel_avx2.cc's ScratchBlock comment). Code in those
# files must have internal linkage (anonymous namespaces, static) or be
# defined there alone. Weak data (inline variables: nm's V and u) is the
# same bytes in every copy and is allowed.
set -u
status=0
for archive in "$@"; do
  if [[ ! -f "$archive" ]]; then
    echo "isa_symbols_test: no such archive: $archive" >&2
    exit 2
  fi
  # nm -A prints "archive:member:value type name"; W is a weak function.
  found=$(nm -A -C --defined-only "$archive" 2>/dev/null |
    grep -E '_avx(2|512)\.cc\.o:' |
    awk '$2 == "W"')
  if [[ -n "$found" ]]; then
    echo "Weak functions in instruction-set objects of $archive (give them internal linkage):"
    echo "$found"
    status=1
  fi
  members=$(ar t "$archive" | grep -cE '_avx(2|512)\.cc\.o$')
  echo "$archive: $members instruction-set objects checked"
  if [[ "$members" -eq 0 ]]; then
    echo "isa_symbols_test: $archive has no *_avx2/*_avx512 objects: wrong archive?" >&2
    status=1
  fi
done
exit $status
