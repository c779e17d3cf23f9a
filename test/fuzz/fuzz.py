#!/usr/bin/env python3
#
# test/fuzz/fuzz.py — feeds generated and mutated arguments to every public
# function of schema oms and to direct DML on its tables, one call per
# transaction, and fails on what must never happen: an XX000 (internal error),
# a backend crash, a resource-leak WARNING, or check_invariants() rows.
#
# The return, refund and exchange functions (RETURN_FNS) get arguments that
# fit the database more often than not -- an order's returnable lines, a
# return's expected and quarantined units, amounts near what it may refund --
# so that their deep paths are reached, with hostile values mixed in; a feeder
# places, pays and ships orders now and then so that there is always
# something to return; and from these functions any SQLSTATE outside class OM
# and a short list (RETURN_KNOWN) is a failure too.
#
# The functions are enumerated from pg_proc at start, so a new function is
# fuzzed without a change here; its argument types (and names, as hints) pick
# the generators.  Valid calls built from README's examples are the seeds;
# mutations then drop, duplicate and retype JSON keys, and use huge, negative,
# NaN, Infinity, 1e309 and 1e-400 numbers, long and odd strings, deep nesting
# and giant arrays (bounded by FUZZ_MAX_BYTES).  Calls also run under
# REPEATABLE READ and SERIALIZABLE, with parallel query forced, with odd
# DateStyle/TimeZone/IntervalStyle/extra_float_digits, with oms settings
# changed, and as the role oms.grant_app made (privilege errors are normal).
#
# test/fuzz/fuzz.sh starts the cluster and runs this; environment:
#   FUZZ_SEED (1), FUZZ_SECONDS (60), FUZZ_CALLS (0: until the time is up),
#   FUZZ_TIMEOUT (statement_timeout, 2s), FUZZ_ONLY (a regex on function
#   names), FUZZ_OUT (where reports go), FUZZ_LOG=1 (log every call),
#   FUZZ_MAX_BYTES (largest argument, 1000000), FUZZ_SERVER_LOG (scanned at
#   the end), FUZZ_APP_ROLE (oms_fuzz_app), FUZZ_FEED_EVERY (50: calls between
#   two orders the feeder ships, 0 never).
# The same seed gives the same sequence of calls, up to what the background
# worker and timeouts change in between.

import collections
import json
import os
import random
import re
import sys
import time

import psycopg2
import psycopg2.extensions

SEED = int(os.environ.get('FUZZ_SEED', '1'))
SECONDS = float(os.environ.get('FUZZ_SECONDS', '60'))
MAX_CALLS = int(os.environ.get('FUZZ_CALLS', '0'))
TIMEOUT = os.environ.get('FUZZ_TIMEOUT', '2s')
ONLY = re.compile(os.environ.get('FUZZ_ONLY', '.'))
OUT = os.environ.get('FUZZ_OUT', '.')
LOG_ALL = os.environ.get('FUZZ_LOG', '') == '1'
MAX_BYTES = int(os.environ.get('FUZZ_MAX_BYTES', '1000000'))
SERVER_LOG = os.environ.get('FUZZ_SERVER_LOG', '')
LOG_OFFSET = int(os.environ.get('FUZZ_SERVER_LOG_OFFSET', '0'))
APP_ROLE = os.environ.get('FUZZ_APP_ROLE', 'oms_fuzz_app')
GRANTEE = 'oms_fuzz_grantee'
FEED_EVERY = int(os.environ.get('FUZZ_FEED_EVERY', '50'))
INVARIANT_EVERY = 1000
REFRESH_EVERY = 100
# The return, refund and exchange functions (issue 13), and the SQLSTATEs
# other than class OM they may raise: NULL where a value is needed,
# privileges (the app role's calls), serialization failures and deadlocks
# (REPEATABLE READ, SERIALIZABLE), a statement timeout.
RETURN_FNS = re.compile(r'return|refund|quarantine')
RETURN_KNOWN = {'00000', '22004', '42501', '40001', '40P01', '57014'}

rng = random.Random(SEED)


def chance(p):
    return rng.random() < p


def pick(seq):
    return seq[rng.randrange(len(seq))]


# ---------------------------------------------------------------- JSON text

class Raw:
    """A JSON token written as is: 1e309, NaN, a deep nesting, broken text."""
    def __init__(self, text):
        self.text = text


class Pairs(list):
    """An object as (key, value) pairs, so that a key can appear twice."""


def to_json(v):
    if isinstance(v, Raw):
        return v.text
    if isinstance(v, bool) or v is None:
        return json.dumps(v)
    if isinstance(v, (int, float)):
        return repr(v) if isinstance(v, float) else str(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=chance(0.5))
    if isinstance(v, Pairs):
        return '{' + ', '.join(json.dumps(k) + ': ' + to_json(x) for k, x in v) + '}'
    if isinstance(v, dict):
        return '{' + ', '.join(json.dumps(k) + ': ' + to_json(x) for k, x in v.items()) + '}'
    if isinstance(v, list):
        return '[' + ', '.join(to_json(x) for x in v) + ']'
    raise TypeError(type(v))


def lit(s):
    """A SQL string literal (standard_conforming_strings is on)."""
    return "'" + s.replace('\x00', '').replace("'", "''") + "'"


# ------------------------------------------------------------ hostile values

NUMBERS = ['0', '-0', '1', '-1', '0.5', '1.0', '1e0', '2', '3', '1000', '1001', '2147483647', '2147483648',
           '-2147483648', '-2147483649', '4294967296', '9223372036854775807', '9223372036854775808',
           '-9223372036854775809', '18446744073709551616', '1e12', '999999999999.99', '999999999999.999999999',
           '1e309', '-1e309', '1e-400', '-1e-400', '1e400', '1E+2', '1e131072', '1e-16383',
           '123456789012345678901234567890.123456789', '0.000001', '1e-7', '90', '90.0000001', '-90.0000001',
           '180', '180.0000000001', '-180', '0.1e1', '-0.0', '2.5', '1.999999999999999999999']
BAD_NUMBERS = ['NaN', 'Infinity', '-Infinity', '+1', '01', '1.', '.5', '0x10', '1e', '--1']
STRINGS = ['', ' ', '  X', 'X  ', '\t', '\n', 'x' * 101, 'x' * 201, 'x' * 4000, 'ÄÖÜß', '日本語', '🚚📦',
           '\u202eevil', 'a\u200bb', '\ufeffBOM', 'e\u0301', "'", '"', '\\', "'; DROP TABLE oms.stock; --",
           '%s%n%x', '\x01\x7f', 'NULL', 'null', 'true', '1', '-1', '1e309', 'NaN', 'Infinity', 'infinity',
           '2147483648', '[]', '{}', 'TEE-BLK-M ', ' WEB', 'web', 'BER-DC\n']


def weird_number():
    if chance(0.05):
        return Raw(pick(BAD_NUMBERS))
    if chance(0.2):
        return rng.randint(-2**70, 2**70)
    if chance(0.1):
        return rng.uniform(-1e300, 1e300)
    return Raw(pick(NUMBERS))


def weird_string():
    r = rng.random()
    if r < 0.03:
        return 'y' * rng.randint(10000, 200000)
    if r < 0.06:
        return ''.join(chr(rng.randint(1, 0x2fff)) for _ in range(rng.randint(1, 40)))
    if r < 0.1:
        return '\\u0000'       # in a literal, so only a string with a backslash
    return pick(STRINGS)


def deep(depth=None):
    n = depth or pick([64, 500, 2000, 10000, 100000])
    if chance(0.5):
        return Raw('[' * n + ']' * n)
    return Raw('{"a": ' * n + '1' + '}' * n)


def weird_json(state):
    r = rng.random()
    if r < 0.22:
        return weird_number()
    if r < 0.44:
        return weird_string()
    if r < 0.5:
        return pick([True, False, None])
    if r < 0.56:
        return []
    if r < 0.62:
        return {}
    if r < 0.66:
        return deep()
    if r < 0.70:
        return Raw(pick(['"\\ud800"', '"\\u0000"', '"\\udfff\\ud800"', '"\\uZZZZ"', '"\x01"']))
    if r < 0.80:
        return pick(state.skus + state.locations + state.channels or ['X'])
    if r < 0.90:
        return [weird_json(state) for _ in range(rng.randint(1, 3))]
    return {pick(['sku', 'qty', 'x', '', 'latitude']): weird_json(state)}


def giant(make, state):
    """An array of many elements, within MAX_BYTES."""
    n = pick([1001, 5000, 20000, 200000])
    one = make()
    size = len(to_json(one)) + 2
    n = max(1, min(n, MAX_BYTES // size))
    return [one] * n


def nodes(v, path=()):
    yield path, v
    if isinstance(v, dict):
        for k, x in v.items():
            yield from nodes(x, path + (k,))
    elif isinstance(v, list) and not isinstance(v, Pairs) and len(v) <= 50:
        for i, x in enumerate(v):
            yield from nodes(x, path + (i,))


def replace_at(v, path, new):
    if not path:
        return new
    c = v
    for p in path[:-1]:
        c = c[p]
    c[path[-1]] = new
    return v


def copy(v):
    if isinstance(v, dict):
        return {k: copy(x) for k, x in v.items()}
    if isinstance(v, list) and not isinstance(v, Pairs):
        return [copy(x) for x in v]
    return v


def mutate(v, state):
    """Applies one to three structural or value mutations to a JSON value."""
    v = copy(v)
    for _ in range(rng.randint(1, 3)):
        path, node = pick(list(nodes(v)))
        r = rng.random()
        if isinstance(node, dict) and node and r < 0.45:
            k = pick(list(node))
            op = rng.randrange(5)
            if op == 0:
                del node[k]
            elif op == 1:          # the key twice, the second with another value
                pairs = Pairs(node.items())
                pairs.append((k, weird_json(state)))
                v = replace_at(v, path, pairs)
            elif op == 2:
                node[pick(['extra', 'SKU', 'Qty', 'sku ', '', 'qty\u0000', 'unit_price', 'hold'])] = weird_json(state)
            elif op == 3:
                node[k] = weird_json(state)
            else:
                node[k] = pick([str(node[k]), [node[k]], {'v': node[k]}, None])
        elif isinstance(node, list) and not isinstance(node, Pairs) and node and r < 0.45:
            op = rng.randrange(5)
            if op == 0:
                del node[rng.randrange(len(node))]
            elif op == 1:
                node.append(copy(pick(node)))
            elif op == 2:
                node.append(weird_json(state))
            elif op == 3:
                v = replace_at(v, path, giant(lambda: copy(pick(node)), state))
            else:
                rng.shuffle(node)
        elif r < 0.9:
            v = replace_at(v, path, weird_json(state))
        else:
            v = replace_at(v, path, pick([[node], {'x': node}, deep(rng.randint(2, 200))]))
    return v


# -------------------------------------------------------------- the database

class State:
    """What the database holds, refreshed now and then: codes, ids, refs."""

    def __init__(self):
        self.skus = []
        self.locations = []
        self.stores = []
        self.channels = []
        self.orders = []
        self.order_locations = []
        self.shipments = []
        self.holds = []
        self.events = []
        self.refs = []
        self.provider_refs = []
        self.consumers = ['fuzz-a', 'fuzz-b', 'mailer']
        self.channel_ids = []
        self.connectors = {}
        self.event_ids = []
        self.returns = []
        self.shipped_orders = []
        self.ret = {}                   # return_id -> (order_id, status, kind, [(line_no, expected, quarantined)])
        self.returnable = {}            # order_id -> [(line_no, returnable units)]
        self.in_stock = []              # SKUs with free units somewhere
        self.fed = 0

    def refresh(self, cur):
        def col(sql):
            cur.execute(sql)
            return [r[0] for r in cur.fetchall()]
        self.skus = col('SELECT code FROM oms.sku ORDER BY code')
        self.locations = col('SELECT code FROM oms.location ORDER BY code')
        self.stores = col("SELECT code FROM oms.location WHERE can_pickup ORDER BY code") or self.locations
        self.channels = col('SELECT code FROM oms.channel ORDER BY code')
        self.orders = col('SELECT order_id FROM oms.orders ORDER BY order_id DESC LIMIT 200')
        cur.execute("SELECT DISTINCT r.order_id, l.code FROM oms.reservation r JOIN oms.location l"
                    " ON l.id = r.location_id WHERE r.state = 'held' ORDER BY 1 DESC, 2 LIMIT 200")
        self.order_locations = cur.fetchall()
        self.shipments = col('SELECT id FROM oms.shipment ORDER BY id DESC LIMIT 200')
        self.holds = col('SELECT hold_ref FROM oms.hold ORDER BY hold_ref LIMIT 100')
        self.events = col('SELECT event_id FROM oms.outbox ORDER BY event_id DESC LIMIT 500')
        self.refs = col('SELECT external_ref FROM oms.orders ORDER BY order_id DESC LIMIT 100')
        self.provider_refs = col('SELECT provider_ref FROM oms.payment WHERE provider_ref IS NOT NULL'
                                 ' ORDER BY id DESC LIMIT 100')
        self.channel_ids = col('SELECT id FROM oms.channel ORDER BY id')
        if has_table(cur, 'channel_connector'):
            cur.execute("SELECT c.code, p.proname FROM oms.channel_connector cc JOIN oms.channel c"
                        " ON c.id = cc.channel_id JOIN pg_proc p ON p.oid = cc.transform ORDER BY 1")
            self.connectors = dict(cur.fetchall())
        if has_table(cur, 'returns'):
            self.returns = col('SELECT return_id FROM oms.returns ORDER BY return_id DESC LIMIT 200')
            cur.execute("SELECT r.return_id, r.order_id, r.status, r.kind,"
                        "       json_agg(json_build_array(l.line_no, l.qty_requested - l.qty_received - l.qty_missing,"
                        "                                 l.qty_quarantined) ORDER BY l.line_no)"
                        "  FROM (SELECT * FROM oms.returns ORDER BY return_id DESC LIMIT 300) r"
                        "  JOIN oms.return_line l ON l.order_id = r.order_id AND l.return_id = r.return_id"
                        " GROUP BY 1, 2, 3, 4")
            self.ret = {rid: (oid, st, kind, [tuple(x) for x in lines]) for rid, oid, st, kind, lines in cur.fetchall()}
            # returnable = shipped - in open returns - returned (- claimed, where oms has it)
            cur.execute("SELECT l.order_id, json_agg(json_build_array(l.line_no, (to_jsonb(l) ->> 'qty_shipped')::int"
                        "         - coalesce((to_jsonb(l) ->> 'qty_in_returns')::int, 0) - (to_jsonb(l) ->> 'qty_returned')::int"
                        "         - coalesce((to_jsonb(l) ->> 'qty_claimed')::int, 0)) ORDER BY l.line_no)"
                        "  FROM (SELECT * FROM oms.order_lines WHERE qty_shipped > 0 ORDER BY order_id DESC LIMIT 400) l"
                        " GROUP BY 1")
            self.returnable = {oid: [tuple(x) for x in lines if x[1] > 0] for oid, lines in cur.fetchall()}
            self.returnable = {k: v for k, v in self.returnable.items() if v}
        self.in_stock = col('SELECT DISTINCT s.code FROM oms.stock st JOIN oms.sku s ON s.id = st.sku_id'
                            ' WHERE st.on_hand - st.reserved > 2 ORDER BY 1')
        self.shipped_orders = col('SELECT DISTINCT order_id FROM oms.order_lines WHERE qty_shipped > 0'
                                  ' ORDER BY order_id DESC LIMIT 200')
        if has_table(cur, 'inbound_message'):
            self.event_ids = col('SELECT source_event_id FROM oms.inbound_message ORDER BY received_at DESC'
                                 ' LIMIT 100')


def has_table(cur, name):
    cur.execute("SELECT to_regclass(%s) IS NOT NULL", ('oms.' + name,))
    return cur.fetchone()[0]


# ------------------------------------------------------- valid seeds (README)

STRATEGIES = ['fewest_shipments', 'cheapest', 'nearest_first', 'priority_first', 'balance_stock']
TRACK = ['in_transit', 'out_for_delivery', 'delivered', 'delivery_failed', 'returned_to_sender']
PAY = ['authorize', 'capture', 'refund', 'void']


def seed_lines(state, shipment=False):
    if shipment:
        return [{'line_no': i, 'qty': rng.randint(1, 3)} for i in range(1, rng.randint(1, 3) + 1)]
    skus = rng.sample(state.skus, min(len(state.skus), rng.randint(1, 4))) if state.skus else ['TEE-BLK-M']
    lines = []
    for s in skus:
        line = {'sku': s, 'qty': rng.randint(1, 3) if chance(0.9) else rng.randint(1, 60)}
        if chance(0.7):
            line['unit_price'] = round(rng.uniform(0, 200), 2) if chance(0.8) else rng.randint(0, 500)
        lines.append(line)
    return lines


REASONS = ['too_small', 'broken', 'retired', 'nope', 'TOO_SMALL', ' too_small']
DISPOSITIONS = ['restock', 'restock', 'damaged', 'write_off', 'quarantine']


def returnable_of(state, ctx):
    """The returnable lines of the order chosen for this call, if it has any."""
    return state.returnable.get(ctx.get('order_id'), [])


def return_of(state, ctx):
    """The return chosen for this call: (order_id, status, kind, lines), or None."""
    return state.ret.get(ctx.get('return_id'))


def seed_return_lines(state, ctx=None):
    mine = returnable_of(state, ctx or {})
    if mine and chance(0.85):
        # an order's own returnable lines: mostly within what it has left
        lines = []
        for n, left in rng.sample(mine, rng.randint(1, len(mine))):
            line = {'line_no': n, 'qty': rng.randint(1, left) if chance(0.85) else left + rng.randint(1, 3)}
            if chance(0.4):
                line['reason'] = pick(REASONS)
            if chance(0.2):
                line['note'] = pick(['fuzz', weird_string()])
            lines.append(line)
        return lines
    lines = []
    for n in rng.sample([1, 2, 3], rng.randint(1, 2)):
        line = {'line_no': n, 'qty': rng.randint(1, 2)}
        if chance(0.3):
            line['reason'] = pick(REASONS)
        if chance(0.2):
            line['note'] = 'fuzz'
        lines.append(line)
    return lines


def seed_receipts(state, ctx=None):
    ret = return_of(state, ctx or {})
    receipts = []
    if ret and chance(0.85):
        # the return's own lines: mostly within what they still expect
        for n, expected, _ in rng.sample(ret[3], rng.randint(1, len(ret[3]))):
            rc = {'line_no': n, 'qty': rng.randint(1, expected) if expected > 0 and chance(0.85) else expected + 1,
                  'disposition': pick(DISPOSITIONS + ['resell', 'Restock'] if chance(0.1) else DISPOSITIONS)}
            if chance(0.3):
                rc['location'] = pick(state.locations or ['BER-DC'])
            if chance(0.1):
                rc['note'] = weird_string()
            receipts.append(rc)
        return receipts
    for n in rng.sample([1, 2, 3], rng.randint(1, 2)):
        rc = {'line_no': n, 'qty': rng.randint(1, 2), 'disposition': pick(DISPOSITIONS)}
        if chance(0.3):
            rc['location'] = pick(state.locations or ['BER-DC'])
        receipts.append(rc)
    return receipts


def seed_exchange(state):
    skus = state.in_stock or state.skus or ['TEE-BLK-M']
    lines = []
    for _ in range(rng.randint(1, 2)):
        line = {'sku': pick(skus), 'qty': rng.randint(1, 2) if chance(0.9) else rng.randint(3, 500)}
        if chance(0.5):
            line['unit_price'] = pick([0, 9.99, round(rng.uniform(0, 100), 2)])
        lines.append(line)
    return lines


def seed_return_options(state):
    o = {}
    if chance(0.3):
        o['idempotency_key'] = 'rma-%d' % rng.randint(0, 30)
    r = rng.random()
    if r < 0.15:
        o['kind'] = 'exchange'
        o['exchange'] = seed_exchange(state)
    elif r < 0.3:
        o['kind'] = 'claim'
        if chance(0.6):
            o['resolution'] = pick(['refund', 'replace', 'replace', 'exchange'])
    elif r < 0.35:
        o['kind'] = 'return'
    if chance(0.2):
        o['return_location'] = pick(state.locations or ['BER-DC'])
    if chance(0.1):
        o['override_policy'] = chance(0.5)
    return o


# Amounts near what a refund may be: cents, fractions of a cent (the
# currency's minor unit decides), and a little over.
REFUND_AMOUNTS = ['0.01', '0.005', '0.001', '0.015', '1', '1.005', '4.99', '5', '9.999', '10', '19.62', '19.625',
                  '20', '49.9', '99.99', '100.001', '250']


def seed_ship_to(state):
    st = {'name': 'Ada Lovelace', 'address1': 'Jungfernstieg 1', 'city': 'Hamburg',
          'postal_code': '20354', 'country': 'DE'}
    if chance(0.8):
        if chance(0.8):
            st['latitude'], st['longitude'] = round(rng.uniform(46, 55), 4), round(rng.uniform(5, 17), 4)
        else:
            st['latitude'], st['longitude'] = rng.uniform(-90, 90), rng.uniform(-180, 180)
    if chance(0.2):
        st = {k: st[k] for k in st if k in ('latitude', 'longitude')}
    return st


def seed_options(state):
    o = {}
    if chance(0.3):
        o['allow_backorder'] = chance(0.5)
    if chance(0.2):
        o['allow_split'] = chance(0.5)
    if chance(0.2):
        o['max_shipments'] = rng.randint(1, 4)
    if chance(0.15) and state.locations:
        o['exclude_locations'] = rng.sample(state.locations, rng.randint(0, min(3, len(state.locations))))
    if chance(0.08) and state.stores:
        o['pickup_location'] = pick(state.stores)
    if chance(0.15):
        o['hold'] = pick(state.holds) if state.holds and chance(0.7) else 'cart-%d' % rng.randint(0, 20)
    if chance(0.3):
        o['strategy'] = pick(STRATEGIES)
    if chance(0.2):
        o['currency'] = pick(['EUR', 'USD', 'GBP', 'CHF'])
    if chance(0.3):
        o['customer'] = {'email': 'c%d@example.com' % rng.randint(1, 99)}
    return o


def seed_details(state):
    return pick([{'city': 'Leipzig'}, {'signed_by': 'A. Lovelace'}, {}, {'hub': 'BER', 'scan': 3}])


def stamp():
    return '2026-%02d-%02dT%02d:%02d:00Z' % (rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23),
                                              rng.randint(0, 59))


def money():
    """A price as channels send it: a string with two decimals, now and then odd."""
    if chance(0.9):
        return '%.2f' % rng.uniform(0, 120)
    return pick(NUMBERS + BAD_NUMBERS + ['', 'abc', '1,50'])


def seed_canonical(state):
    """The canonical message of README "Channel intake"."""
    m = {'external_ref': pick(state.refs) if state.refs and chance(0.3) else 'CH-%d' % rng.randint(0, 500)}
    if chance(0.7):
        m['updated_at'] = stamp()
    if chance(0.8):
        m['lines'] = seed_lines(state)
    if chance(0.5):
        m['ship_to'] = seed_ship_to(state)
    if chance(0.3):
        m['options'] = seed_options(state)
    if chance(0.1):
        m['cancelled'] = True
        m['reason'] = 'customer asked'
    return m


def seed_shopify(state):
    items = [{'id': rng.randint(1, 10**9), 'sku': pick(state.skus or ['TEE-BLK-M']), 'quantity': rng.randint(1, 3),
              'price': money(), 'discount_allocations': [{'amount': money()}] if chance(0.3) else [],
              'tax_lines': [{'price': money()}] if chance(0.5) else []} for _ in range(rng.randint(1, 3))]
    o = {'id': rng.randint(1, 5000), 'updated_at': stamp(), 'currency': pick(['EUR', 'USD']),
         'email': 'ada@example.com', 'customer': {'id': rng.randint(1, 10**6)}, 'taxes_included': chance(0.5),
         'total_price': money(), 'cancelled_at': stamp() if chance(0.1) else None, 'line_items': items,
         'shipping_lines': [{'price': money(), 'tax_lines': [], 'discount_allocations': []}],
         'shipping_address': {'name': 'Ada', 'address1': 'Jungfernstieg 1', 'city': 'Hamburg', 'zip': '20354',
                              'country_code': 'DE', 'latitude': 53.553, 'longitude': 9.9925}}
    if chance(0.1):
        o['source_name'] = 'pos'
        o['location_id'] = pick([64120, 1, 'x'])
    return o


def seed_amazon(state):
    items = [{'OrderItemId': str(i), 'SellerSKU': pick(state.skus or ['TEE-BLK-M']),
              'QuantityOrdered': rng.randint(1, 4), 'ItemPrice': {'Amount': money()},
              'ItemTax': {'Amount': money()}, 'PromotionDiscount': {'Amount': money()},
              'ShippingPrice': {'Amount': money()}} for i in range(rng.randint(1, 3))]
    return {'AmazonOrderId': '302-%d' % rng.randint(0, 5000), 'LastUpdateDate': stamp(),
            'OrderStatus': pick(['Unshipped', 'Unshipped', 'Canceled', 'Shipped']),
            'FulfillmentChannel': pick(['MFN', 'MFN', 'AFN']),
            'OrderTotal': {'CurrencyCode': 'EUR', 'Amount': money()}, 'OrderItems': items}


def seed_pos(state):
    items = [{'sku': pick(state.skus or ['TEE-BLK-M']), 'qty': rng.randint(1, 3), 'price': round(rng.uniform(0, 120), 2),
              'tax': 1.5, 'discount': 0, 'line_id': i} for i in range(1, rng.randint(1, 3) + 1)]
    sale = {'sale_id': 'T4-%04d' % rng.randint(0, 5000), 'store': pick(state.stores or ['MUC-STORE']),
            'sold_at': stamp(), 'currency': 'EUR', 'items': items, 'total': 19.99}
    if chance(0.2):
        sale['prices_include_tax'] = False
    if chance(0.1):
        sale['voided'] = True
    return sale


SHAPES = {'connector_shopify': seed_shopify, 'connector_amazon': seed_amazon, 'connector_pos': seed_pos}


def seed_payload(fn, state, ctx):
    """A payload for a connector, or for ingest in the shape of the channel's connector."""
    if fn in SHAPES:
        return SHAPES[fn](state)
    transform = state.connectors.get(ctx.get('channel'))
    if transform in SHAPES and chance(0.9):
        return SHAPES[transform](state)
    return seed_canonical(state) if chance(0.8) else pick(list(SHAPES.values()))(state)


def json_value(fn, name, state, ctx=None):
    """A seed for a jsonb argument by its name, mutated now and then."""
    if name == 'lines' and fn == 'request_return':
        v = seed_return_lines(state, ctx)
    elif name == 'options' and fn == 'request_return':
        v = seed_return_options(state)
    elif name == 'receipts':
        v = seed_receipts(state, ctx)
    elif name == 'lines':
        v = seed_lines(state, shipment=(fn == 'create_shipment'))
    elif name == 'ship_to':
        v = seed_ship_to(state)
    elif name == 'options':
        v = seed_options(state)
    elif name == 'details':
        v = seed_details(state)
    elif name == 'payload':
        v = seed_payload(fn, state, ctx or {})
    elif name == 'msg':
        v = seed_canonical(state)
    elif name == 'items':
        v = [{'amount': money(), 'price': money()} for _ in range(rng.randint(0, 3))]
    else:
        v = weird_json(state) if chance(0.5) else {}
    if chance(0.3):
        v = mutate(v, state)
    return v


# --------------------------------------------------------- SQL argument text

INTERVALS = ['15 minutes', '1 second', '00:00:00.000001', '7 days', '168 hours', '1 week', '7 days 00:00:00.000001',
             '1 mon', '0', '-1 second', '106751991 days', '106751992 days', '2147483647 days', '-2147483648 days',
             '178000000 years', '-178000000 years', '2147483647 months', '1 day -86399 seconds',
             '-1 day 86401 seconds', '1 mon -29 days', '9223372036854775807 microseconds',
             '-9223372036854775808 microseconds', '@ 1 hour ago', '1 minute', '10 minutes', '2 days']
TIMESTAMPS = ["now()", "now() + interval '1 hour'", "now() - interval '1 day'", "'infinity'::timestamptz",
              "'-infinity'::timestamptz", "'epoch'::timestamptz", "'4713-11-24 00:00:00+00 BC'::timestamptz",
              "'294276-12-31 23:59:59+00'::timestamptz", "'2000-01-01'::timestamptz",
              "'1999-12-31 23:59:59.999999+14'::timestamptz", "now() + interval '100 years'"]
INTS = [0, 1, -1, 2, 3, 5, 7, 10, 100, 256, 257, 1000, 1001, 2147483647, -2147483648, 2147483646, -2147483647]
BIGINTS = [0, 1, -1, 2, 9223372036854775807, -9223372036854775808, 2147483648, 4294967296]
AMOUNTS = ['0', '0.01', '1', '-1', '-0', '1e12', '999999999999.99', '999999999999.999', '1e-400', '1e309',
           "'NaN'", "'Infinity'", "'-Infinity'", '0.000000000000000000001', '123456789012345678901234567890']
ROLES = [GRANTEE, 'no_such_role', '', ' ', 'x' * 70, 'none', 'current_user', 'Robert"); DROP TABLE x; --',
         'OMS_FUZZ_GRANTEE', 'pg_monitor', 'a b']


def text_value(fn, name, state):
    if chance(0.12):
        return weird_string()
    if name == 'sku':
        return pick(state.skus or ['TEE-BLK-M'])
    if name in ('location',):
        return pick(state.locations or ['BER-DC'])
    if name == 'channel':
        return pick(state.channels or ['WEB'])
    if name == 'hold_ref':
        return pick(state.holds) if state.holds and chance(0.5) else 'cart-%d' % rng.randint(0, 20)
    if name == 'external_ref':
        return pick(state.refs) if state.refs and chance(0.2) else 'FZ-%d-%d' % (SEED, rng.randint(0, 10**9))
    if name == 'status':
        return pick(TRACK + ['shipped', 'pending', 'lost'])
    if name == 'kind':
        return pick(PAY + ['Authorize', 'chargeback'])
    if name == 'carrier':
        return pick(['DHL', 'UPS', 'DPD', 'Hermes'])
    if name == 'tracking_number':
        return 'JJD%010d' % rng.randint(0, 10**9)
    if name == 'provider_ref':
        return pick(state.provider_refs) if state.provider_refs and chance(0.3) else 'psp-%d' % rng.randint(0, 10**6)
    if name == 'consumer':
        return pick(state.consumers)
    if name == 'role':
        return pick(ROLES)
    if name == 'topic':
        return pick(['order', 'order', 'order', 'cancel', 'address', 'refund', 'orders/create', 'Order'])
    if name == 'source_event_id':
        return pick(state.event_ids) if state.event_ids and chance(0.2) else 'ev-%d' % rng.randint(0, 10**6)
    if name == 'connector':
        return pick(['shopify', 'amazon', 'pos'])
    if name == 'disposition':
        return pick(['restock', 'write_off', 'restock', 'write_off', 'damaged', 'quarantine', 'Restock'])
    if name == 'idempotency_key':
        return 'parcel-%d' % rng.randint(0, 30)
    if name == 'reason' and fn in ('decline_return', 'cancel_return', 'close_return'):
        return pick(['kept it', 'lost in the post', '', ' ', 'x' * 1001, 'fuzz'])
    if name == 'field':
        return pick(['amount', 'price', 'x'])
    return pick(['fuzz', 'damaged in the warehouse', 'customer asked', 'cycle count'])


def int_value(fn, name, state, big, ctx=None):
    ctx = ctx if ctx is not None else {}
    if chance(0.15):
        return pick(BIGINTS if big else INTS)
    if name == 'order_id' and fn == 'request_return' and state.returnable and chance(0.8):
        return pick(sorted(state.returnable))
    if name == 'order_id' and fn == 'request_return' and state.shipped_orders and chance(0.8):
        return pick(state.shipped_orders)
    if name == 'order_id' and fn == 'refund_breakdown' and state.ret and chance(0.8):
        rid = pick(sorted(state.ret))
        ctx['pair'] = rid
        return state.ret[rid][0]
    if name == 'return_id' and 'pair' in ctx and chance(0.9):
        return ctx['pair']
    if name == 'return_id' and state.ret and chance(0.85):
        return pick(sorted(state.ret))
    ret = return_of(state, ctx)
    if fn == 'release_quarantine' and ret:
        held = [(n, q) for n, _, q in ret[3] if q > 0]
        if name == 'line_no':
            n = pick(held)[0] if held and chance(0.8) else pick(ret[3])[0]
            ctx['line_no'] = n
            return n
        if name == 'qty':
            q = dict((n, q) for n, _, q in ret[3]).get(ctx.get('line_no'), 0)
            return rng.randint(1, q) if q > 0 and chance(0.8) else pick([q + 1, 0, -1, 2147483647])
    if name == 'order_id':
        return pick(state.orders) if state.orders and chance(0.9) else rng.randint(-5, 10**6)
    if name == 'return_id':
        return pick(state.returns) if state.returns and chance(0.9) else rng.randint(-5, 10**6)
    if name == 'shipment_id':
        return pick(state.shipments) if state.shipments and chance(0.9) else rng.randint(-5, 10**6)
    if name == 'channel_id':
        return pick(state.channel_ids) if state.channel_ids and chance(0.9) else rng.randint(-5, 100)
    if name == 'line_no':
        return rng.randint(1, 4)
    if name in ('qty', 'counted'):
        return rng.randint(1, 50) if fn != 'count_stock' else rng.randint(0, 80)
    if name == 'delta':
        return rng.randint(-20, 20)
    if name == 'units':
        return rng.randint(0, 10)
    if name == 'slots':
        return pick([0, 1, 2, 8, 64, 256])
    if name == 'max':
        return pick([1, 10, 100, 1000])
    return rng.randint(-10, 100)


def sql_arg(fn, name, typ, state, ctx):
    """SQL text of one argument of type typ (format_type) named name; ctx
    holds the arguments chosen so far (ingest's payload follows its channel)."""
    if chance(0.03):
        return 'NULL'
    if typ in ('text', 'name', 'character varying'):
        v = text_value(fn, name, state)
        ctx[name] = v
        return lit(v) + '::' + typ
    if typ in ('integer', 'smallint'):
        if chance(0.01):
            return pick(["'2147483648'", "'-2147483649'", "'1e3'"]) + '::' + typ
        return "'%d'::%s" % (int_value(fn, name, state, False, ctx), typ)
    if typ == 'bigint':
        v = int_value(fn, name, state, True, ctx)
        ctx[name] = v
        return "'%d'::bigint" % v
    if typ == 'numeric':
        if fn == 'refund_return' and chance(0.5):
            return pick(REFUND_AMOUNTS) + '::numeric'
        if chance(0.5):
            return pick(AMOUNTS) + '::numeric'
        return '%s::numeric' % round(rng.uniform(0.01, 300), pick([0, 2, 2, 6]))
    if typ == 'interval':
        return lit(pick(INTERVALS)) + '::interval'
    if typ in ('timestamp with time zone', 'timestamp without time zone'):
        return pick(TIMESTAMPS)
    if typ in ('jsonb', 'json'):
        if chance(0.03):
            return lit(pick(['', '{', '[1,', 'NaN', '{"a":1}}', "{'a': 1}"])) + '::' + typ
        text = to_json(json_value(fn, name, state, ctx))
        return lit(text) + '::' + typ
    if typ == 'bigint[]':
        if chance(0.1):
            return pick(["'{}'::bigint[]", "'{NULL}'::bigint[]", "'{{1,2},{3,4}}'::bigint[]",
                         "'[5:6]={1,2}'::bigint[]", "array_fill(1::bigint, ARRAY[200000])",
                         "ARRAY(SELECT generate_series(-5, 100000))::bigint[]"])
        ids = rng.sample(state.events, min(len(state.events), rng.randint(0, 10))) if state.events else []
        ids += [rng.randint(-3, 10**6) for _ in range(rng.randint(0, 2))]
        return "'{%s}'::bigint[]" % ','.join(str(i) for i in ids)
    if typ == 'boolean':
        return pick(['true', 'false'])
    return 'NULL::' + typ


# ------------------------------------------------------------------- calls

class Fn:
    def __init__(self, name, argnames, argtypes, ndefaults, retset, inner):
        self.name = name
        self.argnames = argnames
        self.argtypes = argtypes
        self.ndefaults = ndefaults
        self.retset = retset
        # Returns rows with error_sqlstate (ingest, replay_inbound): it caught
        # an error in a subtransaction and reports it instead of raising it.
        self.inner = inner

    def signature(self):
        return 'oms.%s(%s)' % (self.name, ', '.join(self.argtypes))


def call_sql(fn, state, fns, depth=0):
    """The SQL expression of one call, its arguments generated and mutated."""
    n = len(fn.argtypes)
    if fn.ndefaults and chance(0.3):
        n = rng.randint(n - fn.ndefaults, n)
    args = []
    ctx = {}
    for name, typ in zip(fn.argnames[:n], fn.argtypes[:n]):
        # Now and then an argument is another oms call of the same statement
        # (place_order's id into create_shipment, create_shipment's into ship).
        if depth == 0 and chance(0.03) and name in ('order_id', 'shipment_id'):
            inner = 'place_order' if name == 'order_id' else 'create_shipment'
            if inner in fns:
                args.append('oms.%s(%s)' % (inner, call_sql(fns[inner], state, fns, 1)[1]))
                continue
        if name == 'location' and fn.name == 'create_shipment' and state.order_locations and chance(0.8):
            args.append(lit(pick(state.order_locations)[1]) + '::text')
            continue
        args.append(sql_arg(fn.name, name, typ, state, ctx))
    if fn.name == 'create_shipment' and state.order_locations and chance(0.8) and depth == 0 \
            and args and not args[0].startswith('oms.'):
        oid, loc = pick(state.order_locations)
        args[0] = "'%d'::bigint" % oid
        if len(args) > 1:
            args[1] = lit(loc) + '::text'
    return 'oms.%s(%s)' % (fn.name, ', '.join(args)), ', '.join(args)


def statement(fn, state, fns):
    """A SELECT of one call, in one of the ways a client calls a function."""
    expr, _ = call_sql(fn, state, fns)
    if fn.inner:
        return 'SELECT t.error_sqlstate, left(t.error_message, 200) FROM %s AS t' % expr
    if fn.retset:
        return pick(['SELECT t::text FROM %s AS t', 'SELECT count(*) FROM %s', 'SELECT %s::text']) % expr
    return pick(['SELECT t::text FROM %s AS t', 'SELECT %s::text', 'SELECT %s IS NULL']) % expr


def dml_statement(tables, state):
    """An UPDATE, DELETE, INSERT or TRUNCATE of an oms table: the triggers' turn."""
    t, cols = pick(tables)
    stmt = dml_text(t, cols, state)
    return stmt, 'DML %s %s' % (stmt.split()[0], t)


def dml_text(t, cols, state):
    col, typ = pick(cols)
    k = rng.randint(0, 20)
    row = 'ctid = (SELECT ctid FROM oms.%s ORDER BY ctid LIMIT 1 OFFSET %d)' % (t, k)
    value = dml_value(col, typ, state)
    r = rng.random()
    if r < 0.55:
        return 'UPDATE oms.%s SET %s = %s WHERE %s' % (t, col, value, row)
    if r < 0.7:
        return 'UPDATE oms.%s SET %s = %s' % (t, col, value)
    if r < 0.85:
        return 'DELETE FROM oms.%s WHERE %s' % (t, row)
    if r < 0.97:
        chosen = rng.sample(cols, rng.randint(1, len(cols)))
        return 'INSERT INTO oms.%s (%s) VALUES (%s)' % (
            t, ', '.join(c for c, _ in chosen), ', '.join(dml_value(c, ty, state) for c, ty in chosen))
    return 'TRUNCATE oms.%s' % t


def dml_value(col, typ, state):
    if chance(0.1):
        return 'NULL'
    if 'int' in typ or typ in ('oms.units', 'oms.quantity'):
        return str(pick(INTS + [rng.randint(-5, 50)]))
    if typ in ('numeric', 'oms.amount', 'double precision'):
        return pick(AMOUNTS + ['52.5', '-91', '181'])
    if typ in ('jsonb', 'json'):
        return lit(to_json(mutate({'a': 1}, state) if chance(0.5) else {}))
    if typ == 'boolean':
        return pick(['true', 'false'])
    if 'timestamp' in typ:
        return pick(TIMESTAMPS)
    if typ == 'interval':
        return lit(pick(INTERVALS))
    if typ == 'xid8':
        return pick(["'1'", "'0'", "'18446744073709551615'", "pg_current_xact_id()"])
    if col in ('status', 'state', 'payment_status', 'kind'):
        return lit(pick(TRACK + PAY + ['reserved', 'cancelled', 'closed', 'held', 'consumed', 'bogus']))
    if col == 'code' and chance(0.5):
        return lit(pick(state.skus + state.locations + state.channels or ['X']))
    return lit(text_value('dml', col, state))


# ---------------------------------------------------------------- the run

class Run:
    def __init__(self):
        self.calls = 0
        self.per_fn = collections.Counter()
        self.outcomes = collections.Counter()       # sqlstate -> n
        self.fn_outcomes = collections.Counter()    # (fn, sqlstate) -> n
        self.examples = {}                          # (fn, sqlstate) -> message
        self.timeouts = collections.Counter()
        self.xx000 = []
        self.crashes = []
        self.leaks = []
        self.warnings = collections.Counter()
        self.hangs = []
        self.invariants = []
        self.since_check = []
        self.modes = collections.Counter()
        self.seconds = collections.Counter()
        self.bypass = {}
        self.unexpected = []                        # (fn, sqlstate, message) of RETURN_FNS


def feed(cur, state):
    """Places, pays (mostly) and ships an order of SKUs in stock, as the
    superuser and committed, some parcels delivered (one in ten long ago, past
    any window) or back to the sender: something for the return functions."""
    skus = rng.sample(state.in_stock, min(len(state.in_stock), rng.randint(1, 3)))
    channels = [c for c in state.channels if c != 'POS'] or state.channels
    if not skus or not channels:
        return
    lines = [{'sku': s, 'qty': rng.randint(1, 3), 'unit_price': round(rng.uniform(1, 80), 2)} for s in skus]
    options = {'shipping': {'price': 4.90, 'tax': 0.93}} if chance(0.5) else {}
    if chance(0.2):
        options['order_discount'] = 1
    try:
        cur.execute('BEGIN')
        cur.execute('SELECT oms.place_order(%s, %s, %s::jsonb, NULL, %s::jsonb)',
                    (pick(channels), 'FEED-%d-%d' % (SEED, state.fed), json.dumps(lines), json.dumps(options)))
        oid = cur.fetchone()[0]
        cur.execute('SELECT total_amount FROM oms.orders WHERE order_id = %s', (oid,))
        total = cur.fetchone()[0]
        if total > 0 and chance(0.85):
            cur.execute("SELECT oms.record_payment(%s, 'authorize', %s), oms.record_payment(%s, 'capture', %s)",
                        (oid, total, oid, total if chance(0.8) else round(total / 2, 2)))
        cur.execute("SELECT DISTINCT l.code FROM oms.reservation r JOIN oms.location l ON l.id = r.location_id"
                    " WHERE r.order_id = %s AND r.state = 'held' ORDER BY 1", (oid,))
        for (loc,) in cur.fetchall():
            cur.execute('SELECT oms.create_shipment(%s, %s)', (oid, loc))
            sh = cur.fetchone()[0]
            cur.execute("SELECT oms.ship(%s, 'DHL', %s)", (sh, 'FEED%d' % sh))
            r = rng.random()
            if r < 0.5:
                cur.execute("SELECT oms.track(%s, 'delivered', now() + interval '1 minute')", (sh,))
            elif r < 0.6:
                cur.execute("SELECT oms.track(%s, 'delivered', now() - interval '90 days')", (sh,))
            elif r < 0.65:
                cur.execute("SELECT oms.track(%s, 'returned_to_sender', now() + interval '1 minute')", (sh,))
        cur.execute('COMMIT')
        state.fed += 1
    except psycopg2.Error:
        try:
            cur.execute('ROLLBACK')
        except psycopg2.Error:
            pass


def connect():
    for _ in range(120):
        try:
            conn = psycopg2.connect('')
            conn.autocommit = True
            return conn
        except psycopg2.OperationalError:
            time.sleep(0.5)
    sys.exit('fuzz: cannot connect to the server')


def setup_sql(parallel_guc, key):
    """BEGIN and the session state of one call; returns (sql, mode)."""
    iso = rng.random()
    level = 'READ COMMITTED' if iso < 0.7 else 'REPEATABLE READ' if iso < 0.9 else 'SERIALIZABLE'
    parts = ['BEGIN ISOLATION LEVEL %s' % level, "SET LOCAL statement_timeout = %s" % lit(TIMEOUT)]
    mode = [level.lower().replace(' ', '_')]
    r = rng.random()
    if r < 0.12:
        parts.append('SET LOCAL %s = on' % parallel_guc)
        mode.append('parallel_forced')
    elif r < 0.2 and key != 'check_invariants':
        # (free parallel query makes check_invariants() start some 35 Gather
        # nodes, 3 s on a small database: a timeout that tells nothing)
        parts += ['SET LOCAL parallel_setup_cost = 0', 'SET LOCAL parallel_tuple_cost = 0',
                  'SET LOCAL min_parallel_table_scan_size = 0', 'SET LOCAL min_parallel_index_scan_size = 0',
                  'SET LOCAL max_parallel_workers_per_gather = 4']
        mode.append('parallel_cheap')
    if chance(0.1):
        parts.append(pick(["SET LOCAL DateStyle = 'SQL, DMY'", "SET LOCAL DateStyle = 'German'",
                           "SET LOCAL TimeZone = 'Pacific/Kiritimati'", "SET LOCAL TimeZone = 'America/St_Johns'",
                           "SET LOCAL IntervalStyle = 'sql_standard'", "SET LOCAL IntervalStyle = 'iso_8601'",
                           "SET LOCAL extra_float_digits = -15", "SET LOCAL extra_float_digits = 3",
                           "SET LOCAL lc_monetary = 'C'", "SET LOCAL search_path = pg_temp, public"]))
        mode.append('odd_format')
    if chance(0.08):
        parts.append(pick(['SET LOCAL oms.route_search_limit = %d' % pick([1, 2, 10, 100, 1000, 100000]),
                           'SET LOCAL oms.hot_stock_slots = %d' % pick([0, 1, 2, 64, 256]),
                           "SET LOCAL oms.hot_stock_wait = %s" % pick(["'-1'", "'0'", "'1ms'"]),
                           'SET LOCAL oms.events = off']))
        mode.append('oms_setting')
    if chance(0.3):
        parts.append('SET LOCAL ROLE %s' % APP_ROLE)
        mode.append('app_role')
    return '; '.join(parts), mode


def crashed(conn):
    return conn.closed != 0


def main():
    os.makedirs(OUT, exist_ok=True)
    conn = connect()
    cur = conn.cursor()
    cur.execute("SELECT name FROM pg_settings WHERE name IN ('debug_parallel_query', 'force_parallel_mode')")
    parallel_guc = cur.fetchone()[0]
    cur.execute('SELECT pg_postmaster_start_time()')
    started = cur.fetchone()[0]
    cur.execute("""
        SELECT p.proname, coalesce(p.proargnames[1:p.pronargs], '{}'),
               ARRAY(SELECT format_type(t, NULL) FROM unnest(p.proargtypes) WITH ORDINALITY AS a(t, i) ORDER BY i),
               p.pronargdefaults, p.proretset,
               EXISTS (SELECT FROM pg_type t JOIN pg_attribute a ON a.attrelid = t.typrelid
                        WHERE t.oid = p.prorettype AND a.attname = 'error_sqlstate')
          FROM pg_proc p
         WHERE p.pronamespace = 'oms'::regnamespace AND p.prokind = 'f'
           AND p.prorettype <> 'trigger'::regtype
         ORDER BY p.proname, p.oid""")
    fns = {}
    for name, argnames, argtypes, ndef, retset, inner in cur.fetchall():
        if ONLY.search(name):
            fns[name] = Fn(name, list(argnames), list(argtypes), ndef, retset, inner)
    cur.execute("""
        SELECT c.relname, array_agg(a.attname::text ORDER BY a.attnum),
               array_agg(format_type(a.atttypid, NULL) ORDER BY a.attnum)
          FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
         WHERE c.relnamespace = 'oms'::regnamespace AND c.relkind IN ('r', 'p')
         GROUP BY c.relname ORDER BY c.relname""")
    tables = [(t, list(zip(cols, types))) for t, cols, types in cur.fetchall()]
    state = State()
    state.refresh(cur)
    names = sorted(fns)
    print('fuzz: seed %d, %s s, %d functions of schema oms, %d tables; %s, statement_timeout %s'
          % (SEED, SECONDS, len(names), len(tables), parallel_guc, TIMEOUT), flush=True)
    run = Run()
    calllog = open(os.path.join(OUT, 'seed-%d-calls.sql' % SEED), 'w') if LOG_ALL else None
    failures = open(os.path.join(OUT, 'seed-%d-failures.sql' % SEED), 'w')
    deadline = time.monotonic() + SECONDS

    def record_failure(kind, setup, stmt, message):
        text = '-- %s (seed %d, call %d): %s\n%s;\n%s;\nROLLBACK;\n\n' % (
            kind, SEED, run.calls, message.strip().replace('\n', ' '), setup, stmt)
        failures.write(text)
        failures.flush()
        shown = text if len(text) < 2000 else text[:1000] + ' ... [%d bytes, in seed-%d-failures.sql]\n' % (len(text), SEED)
        print(shown, end='', flush=True)

    def check_invariants(final=False):
        try:
            cur.execute('SELECT invariant, detail FROM oms.check_invariants()')
            rows = cur.fetchall()
        except psycopg2.Error as e:
            rows = [('check_invariants() failed', str(e).strip())]
        if rows and not run.invariants:
            path = os.path.join(OUT, 'seed-%d-invariants.sql' % SEED)
            with open(path, 'w') as f:
                f.write('-- check_invariants() after call %d (seed %d):\n' % (run.calls, SEED))
                for r in rows[:50]:
                    f.write('--   %s: %s\n' % r)
                f.write('-- the committed calls since the previous clean check:\n')
                for s in run.since_check:
                    f.write(s + '\n')
            print('fuzz: check_invariants() has %d rows after call %d, first: %s (calls since the last clean'
                  ' check in %s)' % (len(rows), run.calls, rows[0], path), flush=True)
        if rows:
            run.invariants = rows
        else:
            run.since_check = []

    while time.monotonic() < deadline and (not MAX_CALLS or run.calls < MAX_CALLS):
        if FEED_EVERY and run.calls % FEED_EVERY == 0 and any(RETURN_FNS.search(n) for n in names):
            feed(cur, state)
        if run.calls % REFRESH_EVERY == 0:
            state.refresh(cur)
        if run.calls % INVARIANT_EVERY == 0 and run.calls:
            check_invariants()
        dml = chance(0.05) and not os.environ.get('FUZZ_ONLY')
        if dml:
            stmt, key = dml_statement(tables, state)
        else:
            fn = fns[pick(names)]
            stmt = statement(fn, state, fns)
            key = fn.name
        if len(stmt) > MAX_BYTES + 1000:
            continue
        setup, mode = setup_sql(parallel_guc, key)
        run.calls += 1
        run.per_fn[key] += 1
        for m in mode:
            run.modes[m] += 1
        state_code = '00000'
        message = ''
        t0 = time.monotonic()
        inner = []
        try:
            cur.execute(setup)
            conn.notices.clear()
            t0 = time.monotonic()
            cur.execute(stmt)
            rows = cur.fetchmany(100) if cur.description else []
            if dml and cur.rowcount == 0:
                state_code = 'no_row'
            elif dml:
                # The guards let it through: does the database still hold?
                # (Without parallel query, which makes the check slow.)
                cur.execute('SET LOCAL max_parallel_workers_per_gather = 0; SET LOCAL %s = off; '
                            'SELECT invariant FROM oms.check_invariants()' % parallel_guc)
                broken = sorted({r[0] for r in cur.fetchall()})
                if broken:
                    if key not in run.bypass:
                        record_failure('DML BREAKS INVARIANTS (not a failure: %s)' % '; '.join(broken),
                                       setup, stmt, 'direct DML a guard let through')
                    run.bypass.setdefault(key, (broken, stmt))
            if not dml and fn.inner:
                inner = [(r[0], r[1] or '') for r in rows if r[0]]
            # DML always rolls back: only what the guards say matters.  So
            # does a call with oms.events off, whose missing events
            # check_invariants() would rightly report.
            commit = not dml and 'oms.events' not in setup and chance(0.85)
            cur.execute('COMMIT' if commit else 'ROLLBACK')
            if commit:
                run.since_check.append(setup + '; ' + (stmt if len(stmt) < 5000 else stmt[:5000] + '...') + '; COMMIT;')
        except psycopg2.Error as e:
            if crashed(conn) or e.pgcode is None or e.pgcode.startswith('57P'):
                state_code = 'CRASH'
                message = str(e)
            else:
                state_code = e.pgcode
                message = e.pgerror or str(e)
                # An error with a position in the statement is the parser's
                # or an argument's cast: the call never reached oms.
                if e.diag.statement_position is not None:
                    state_code += '@arg'
                cur.execute('ROLLBACK')
        run.seconds[key] += time.monotonic() - t0
        for n in conn.notices:
            if n.startswith('WARNING'):
                w = re.sub(r'\d+', 'N', n.strip())
                run.warnings[w] += 1
                if re.search(r'leak|not closed|still referenced|unreleased|not released', n):
                    run.leaks.append(n)
                    record_failure('LEAK WARNING', setup, stmt, n)
        conn.notices.clear()
        for code, msg in inner:
            # An error the function caught and reported in its result.
            run.fn_outcomes[(key, '>' + code)] += 1
            run.examples.setdefault((key, '>' + code), (msg.split('\n')[0][:160], stmt[:3000]))
            if code.startswith('XX'):
                run.xx000.append((key, msg))
                record_failure(code + ' (caught and reported by the function)', setup, stmt, msg)
        run.outcomes[state_code] += 1
        run.fn_outcomes[(key, state_code)] += 1
        run.examples.setdefault((key, state_code), (message.split('\n')[0][:160], stmt[:3000]))
        if calllog:
            calllog.write('-- %d %s\n%s; %s; ROLLBACK;\n' % (run.calls, state_code, setup, stmt[:20000]))
        if state_code.startswith('XX'):
            run.xx000.append((key, message))
            record_failure(state_code, setup, stmt, message)
        elif not dml and RETURN_FNS.search(key) and not state_code.startswith('OM') and state_code != 'CRASH' \
                and state_code not in RETURN_KNOWN and not state_code.endswith('@arg'):
            # a return function let an error through that is neither its own
            # (class OM) nor one of the few others it may raise
            run.unexpected.append((key, state_code, message))
            record_failure('UNEXPECTED SQLSTATE %s from a return function' % state_code, setup, stmt, message)
        elif state_code.startswith('57014'):
            run.timeouts[key] += 1
            if run.timeouts[key] <= 3:
                record_failure('TIMEOUT', setup, stmt, message)
        elif state_code == 'CRASH':
            run.crashes.append((key, message))
            record_failure('CRASH', setup, stmt, message)
            conn = connect()
            cur = conn.cursor()

    conn.notices.clear()
    check_invariants(final=True)
    cur.execute('SELECT pg_postmaster_start_time()')
    if cur.fetchone()[0] != started:
        run.crashes.append(('postmaster', 'pg_postmaster_start_time() changed'))

    # The server log: crashes of any process (the worker too), XX000 and
    # leak warnings that no client saw.
    log_crashes = log_xx000 = log_leaks = 0
    if SERVER_LOG and os.path.exists(SERVER_LOG):
        with open(SERVER_LOG, errors='replace') as f:
            f.seek(LOG_OFFSET)
            for line in f:
                if re.search(r'terminated by signal|exited with exit code [2-9]|PANIC:|TRAP:', line):
                    log_crashes += 1
                    print('fuzz: server log: ' + line.rstrip()[:300])
                elif 'reinitializing' in line:
                    print('fuzz: server log: ' + line.rstrip()[:300])
                elif re.search(r'\] XX000 (?!client backend|parallel worker).*ERROR:', line):
                    # an XX000 in a process no client waited for: the oms worker
                    log_xx000 += 1
                    print('fuzz: server log: ' + line.rstrip()[:300])
                elif re.search(r'WARNING:.*(leak|not closed)', line):
                    log_leaks += 1
    write_report(run, fns, log_crashes, log_xx000, log_leaks, state.fed)
    bad = run.xx000 or run.crashes or run.leaks or run.invariants or log_crashes or log_leaks \
        or log_xx000 or run.unexpected
    return 1 if bad else 0


def write_report(run, fns, log_crashes, log_xx000, log_leaks, fed=0):
    lines = []
    p = lines.append
    timeouts = sum(run.timeouts.values())
    p('fuzz: seed %d: %d calls to %d functions (and %d DML statements); timeouts: %d; XX000: %d; crashes: %d;'
      ' leak warnings: %d; invariant violations: %d'
      % (SEED, run.calls - sum(v for k, v in run.per_fn.items() if k.startswith('DML')), len(fns),
         sum(v for k, v in run.per_fn.items() if k.startswith('DML')), timeouts, len(run.xx000),
         max(len(run.crashes), log_crashes), len(run.leaks) + log_leaks, len(run.invariants)))
    p('clients saw %d crashes; server log: %d crashes, %d XX000 in the worker, %d leak warnings'
      % (len(run.crashes), log_crashes, log_xx000, log_leaks))
    ret_calls = sum(n for k, n in run.per_fn.items() if RETURN_FNS.search(k) and not k.startswith('DML'))
    ret_ok = sum(n for (k, s), n in run.fn_outcomes.items()
                 if RETURN_FNS.search(k) and not k.startswith('DML') and s == '00000')
    p('return, refund and exchange functions: %d calls, %d succeeded, %d SQLSTATEs outside class OM and %s;'
      ' orders fed: %d' % (ret_calls, ret_ok, len(run.unexpected), '/'.join(sorted(RETURN_KNOWN - {'00000'})),
                           fed))
    p('modes: ' + ', '.join('%s %d' % kv for kv in sorted(run.modes.items())))
    p('outcomes by SQLSTATE: ' + ', '.join('%s %d' % kv for kv in run.outcomes.most_common()))
    p('calls per function (outcomes, most frequent first; >CODE: an error the function caught and'
      ' returned in error_sqlstate):')
    for key in sorted(run.per_fn):
        outs = sorted(((n, s) for (k, s), n in run.fn_outcomes.items() if k == key), reverse=True)
        p('  %-28s %7d %6.1fs  %s' % (key, run.per_fn[key], run.seconds[key],
                                       ' '.join('%s:%d' % (s, n) for n, s in outs[:8])))
    if run.bypass:
        p('direct DML the guards let through that breaks check_invariants() (rolled back; as superuser):')
        for key, (broken, stmt) in sorted(run.bypass.items()):
            p('  %-28s %s: %s' % (key, '; '.join(broken)[:120], stmt[:200]))
    untouched = sorted(set(fns) - set(run.per_fn))
    if untouched:
        p('functions never called: ' + ', '.join(untouched))
    # README's Errors table: every error a caller can cause has an OMxxx code,
    # save these.  Anything else from inside an oms call is worth a look.
    documented = {'00000', '22004', '42501', '40001', '40P01', '57014', '23505', '23514', '23503', 'CRASH'}
    odd = sorted((k, s) for (k, s) in run.fn_outcomes
                 if not k.startswith('DML') and not s.lstrip('>').startswith('OM')
                 and s.lstrip('>') not in documented and not s.endswith('@arg'))
    if odd:
        p('SQLSTATEs from inside oms calls that README does not list (example in seed-%d-messages.txt):' % SEED)
        for k, s in odd:
            p('  %-28s %-6s %5d  %s' % (k, s, run.fn_outcomes[(k, s)], run.examples[(k, s)][0][:100]))
    if run.warnings:
        p('warnings:')
        for w, n in run.warnings.most_common(10):
            p('  %6d  %s' % (n, w[:200]))
    p('an example message per function and SQLSTATE: seed-%d-messages.txt' % SEED)
    text = '\n'.join(lines) + '\n'
    print(text, end='')
    with open(os.path.join(OUT, 'seed-%d-report.txt' % SEED), 'w') as f:
        f.write(text)
    with open(os.path.join(OUT, 'seed-%d-messages.txt' % SEED), 'w') as f:
        for (k, s), (m, stmt) in sorted(run.examples.items()):
            f.write('%-28s %-9s %6d  %s\n%45s%s\n' % (k, s, run.fn_outcomes[(k, s)], m, '', stmt))


if __name__ == '__main__':
    sys.exit(main())
