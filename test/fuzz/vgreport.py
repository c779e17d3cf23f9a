#!/usr/bin/env python3
#
# test/fuzz/vgreport.py SRC LOGDIR — counts the valgrind reports in LOGDIR/*.log
# (written with --error-markers=VALGRINDERROR-BEGIN,VALGRINDERROR-END) and
# those with an oms frame: a frame in oms.so, or at a line of one of the C
# files in SRC (only oms is built with line information here), among the
# innermost DEPTH (10) frames of one of the report's stacks — where the bad
# access happened, or where the memory was allocated, freed or left
# uninitialised.  oms is on the stack of nearly everything a backend does
# while it runs an oms function; a frame further out only says that a report
# of PostgreSQL's own happened during such a call (those are counted apart).
# Prints each distinct oms report once and exits 1 if there is any.

import collections
import glob
import os
import re
import sys

DEPTH = int(os.environ.get('VALGRIND_OMS_DEPTH', '10'))
src, logdir = sys.argv[1], sys.argv[2]
files = {os.path.basename(f) for f in glob.glob(os.path.join(src, '**', '*.c'), recursive=True)}
oms_frame = re.compile(r'\((%s):\d+\)|oms\.so' % '|'.join(re.escape(f) for f in sorted(files)))
frame = re.compile(r'^\s*(at|by) 0x')


def stacks(lines):
    """The report's stacks: runs of at/by frame lines."""
    out, cur = [], []
    for line in lines:
        if frame.match(line):
            cur.append(line)
        elif cur:
            out.append(cur)
            cur = []
    if cur:
        out.append(cur)
    return out


total = 0
deep = 0
kinds = collections.Counter()
oms = collections.OrderedDict()
logs = sorted(glob.glob(os.path.join(logdir, '*.log')))
for path in logs:
    text = open(path, errors='replace').read()
    for block in re.findall(r'VALGRINDERROR-BEGIN\n(.*?)VALGRINDERROR-END', text, re.S):
        lines = [re.sub(r'^==\d+==\s?', '', line) for line in block.splitlines()]
        lines = [line for line in lines if line.strip()]
        if not lines:
            continue
        total += 1
        kinds[lines[0].strip()] += 1
        st = stacks(lines)
        if any(oms_frame.search(f) for s in st for f in s[:DEPTH]):
            # The same report from another process or call is listed once.
            key = lines[0].strip() + ' | ' + ' | '.join(
                re.sub(r'0x[0-9A-F]+: ', '', f.strip()) for f in st[0][:8])
            oms.setdefault(key, []).append(os.path.basename(path))
        elif any(oms_frame.search(f) for s in st for f in s):
            deep += 1

oms_reports = sum(len(v) for v in oms.values())
print('valgrind: %d reports in %d process logs; by kind:' % (total, len(logs)))
for kind, n in kinds.most_common():
    print('  %6d  %s' % (n, kind))
for key, procs in oms.items():
    print('\nreport with an oms frame (%d times, e.g. %s):' % (len(procs), procs[0]))
    for part in key.split(' | '):
        print('    ' + part)
print('(%d reports have oms only further out than %d frames: PostgreSQL\'s own, during an oms call)'
      % (deep, DEPTH))
print('valgrind: %d reports, reports with an oms frame: %d (%d distinct)' % (total, oms_reports, len(oms)))
sys.exit(1 if oms_reports else 0)
