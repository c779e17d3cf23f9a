#!/usr/bin/env python3
#
# test/fuzz/vgreport.py SRC LOGDIR — counts the valgrind reports in LOGDIR/*.log
# (written with --error-markers=VALGRINDERROR-BEGIN,VALGRINDERROR-END) and
# those with a frame in oms: a frame in oms.so, or at a line of one of the C
# files in SRC (only oms is built with line information here).  Prints each
# distinct oms report once, with the processes it came from, and exits 1 if
# there is any.

import collections
import glob
import os
import re
import sys

src, logdir = sys.argv[1], sys.argv[2]
files = {os.path.basename(f) for f in glob.glob(os.path.join(src, '**', '*.c'), recursive=True)}
frame = re.compile(r'\((%s):\d+\)|oms\.so' % '|'.join(re.escape(f) for f in sorted(files)))

total = 0
kinds = collections.Counter()
oms = collections.OrderedDict()
for path in sorted(glob.glob(os.path.join(logdir, '*.log'))):
    text = open(path, errors='replace').read()
    for block in re.findall(r'VALGRINDERROR-BEGIN\n(.*?)VALGRINDERROR-END', text, re.S):
        lines = [re.sub(r'^==\d+==\s?', '', line) for line in block.splitlines()]
        lines = [line for line in lines if line.strip()]
        if not lines:
            continue
        total += 1
        kind = lines[0].strip()
        kinds[kind] += 1
        if any(frame.search(line) for line in lines):
            # The same report from another process or call counts once in the list.
            key = kind + ' | ' + ' | '.join(re.sub(r'0x[0-9A-F]+: ', '', line.strip())
                                            for line in lines[1:6])
            oms.setdefault(key, []).append(os.path.basename(path))

oms_reports = sum(len(v) for v in oms.values())
print('valgrind: %d reports in %d process logs; by kind:' % (total, len(glob.glob(os.path.join(logdir, '*.log')))))
for kind, n in kinds.most_common():
    print('  %6d  %s' % (n, kind))
for key, procs in oms.items():
    print('\nreport with an oms frame (%d times, e.g. %s):' % (len(procs), procs[0]))
    for part in key.split(' | '):
        print('    ' + part)
print('valgrind: %d reports, reports with an oms frame: %d (%d distinct)' % (total, oms_reports, len(oms)))
sys.exit(1 if oms_reports else 0)
