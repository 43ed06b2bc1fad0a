"""The Prometheus endpoint with a stock client (urllib from /usr/bin/python3): the exact
lines of /metrics, the content type, 404 and 405 as urllib sees them, and the text parsed
line by line the way Prometheus reads it (HELP/TYPE before samples, labels unescaped).

Usage: test_metrics.py <test_metrics binary>   (it serves with --serve until stdin closes)
"""
import re
import subprocess
import sys
import urllib.error
import urllib.request

WANT = [
    '# HELP medley_channels RTP channels in use.',
    '# TYPE medley_channels gauge',
    'medley_channels 42',
    '# HELP medley_packets_total RTP packets by direction.',
    '# TYPE medley_packets_total counter',
    'medley_packets_total{direction="rx"} 1234567890123',
    'medley_packets_total{direction="tx"} 99',
    '# HELP medley_queue_calls_waiting Callers waiting, by queue.',
    '# TYPE medley_queue_calls_waiting gauge',
    'medley_queue_calls_waiting{queue="sales \\"EU\\" \\\\north\\nline2"} 3',
    'medley_queue_calls_waiting{queue="support"} 0',
    '# HELP medley_service_level Help with a \\\\ backslash\\nand a newline.',
    '# TYPE medley_service_level gauge',
    'medley_service_level{queue="sales"} 0.85',
    'medley_service_level{queue="empty"} NaN',
    '# HELP medley_digits_total DTMF digits by source.',
    '# TYPE medley_digits_total counter',
    'medley_digits_total{source="rfc4733"} 7',
    'medley_digits_total{source="inband"} 5',
]

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')


def unescape(v):
    return re.sub(r'\\(.)', lambda m: {'n': '\n', '\\': '\\', '"': '"'}[m.group(1)], v)


def parse(text):
    """Families: name -> (type, [(labels dict, value)])."""
    fams, current = {}, None
    for line in text.split('\n')[:-1]:
        if line.startswith('# TYPE '):
            _, _, name, typ = line.split(' ')
            assert name not in fams, name
            fams[name] = (typ, [])
            current = name
        elif line.startswith('# HELP '):
            continue
        else:
            m = SAMPLE.match(line)
            assert m, line
            assert m.group(1) == current, line
            labels, rest = {}, m.group(3) or ''
            while rest:
                lm = LABEL.match(rest)
                assert lm, rest
                labels[lm.group(1)] = unescape(lm.group(2))
                rest = rest[lm.end():]
            fams[current][1].append((labels, float(m.group(4))))
    return fams


def main():
    srv = subprocess.Popen([sys.argv[1], '--serve'], stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, text=True)
    try:
        port = int(srv.stdout.readline())
        base = 'http://127.0.0.1:%d' % port
        with urllib.request.urlopen(base + '/metrics', timeout=5) as r:
            assert r.status == 200
            ctype = r.headers['Content-Type']
            assert ctype == 'text/plain; version=0.0.4; charset=utf-8', ctype
            text = r.read().decode('utf-8')
        assert text.endswith('\n')
        lines = text.split('\n')[:-1]
        assert lines == WANT, '\n'.join(lines)
        fams = parse(text)
        assert fams['medley_packets_total'][0] == 'counter'
        assert fams['medley_queue_calls_waiting'][1][0] == \
            ({'queue': 'sales "EU" \\north\nline2'}, 3.0)
        for path, code in (('/', 404), ('/metrics/x', 404)):
            try:
                urllib.request.urlopen(base + path, timeout=5)
                raise AssertionError(path + ' answered')
            except urllib.error.HTTPError as e:
                assert e.code == code, (path, e.code)
        try:
            urllib.request.urlopen(urllib.request.Request(base + '/metrics', data=b'x=1'),
                                   timeout=5)
            raise AssertionError('POST answered')
        except urllib.error.HTTPError as e:
            assert e.code == 405 and e.headers['Allow'] == 'GET, HEAD', e.code
        print('ok')
    finally:
        srv.stdin.close()
        srv.wait(timeout=10)


if __name__ == '__main__':
    main()
