/**
 * The Go text/template subset (src/cli/format/template.ts): output and error messages as Go's
 * text/template gives them for the same template and data (the expected strings were written
 * from Go's behaviour), and the bounds: no prototype reaches, limited steps, output and nesting.
 */
import { describe, expect, it } from 'vitest';
import {
  execute,
  goStruct,
  HEADER_FUNCS,
  parseTemplate,
  render,
  TemplateError,
} from '../../../../src/cli/format/template.js';

const data = {
  Id: 'abc123',
  Name: '/web',
  State: { Status: 'exited', ExitCode: 3, Pid: 0, Running: false, Health: null },
  Config: {
    Image: 'busybox',
    Env: ['A=1', 'B=2'],
    Labels: { 'com.example.app': 'web', tier: 'front' },
    Cmd: ['sh', '-c', 'echo hi'],
    Empty: [],
  },
  Num: 1.5,
  Big: 1700000000,
  Mounts: [
    { Source: '/a', Destination: '/x', RW: true },
    { Source: '/b', Destination: '/y', RW: false },
  ],
  Html: '<a&b>',
};

const r = (src: string, d: unknown = data) => render(src, d);
const err = (src: string, d: unknown = data): string => {
  try {
    render(src, d);
  } catch (e) {
    expect(e).toBeInstanceOf(TemplateError);
    return (e as Error).message;
  }
  throw new Error(`no error for ${src}`);
};

describe('fields', () => {
  it('reads fields and chains', () => {
    expect(r('{{.Id}}')).toBe('abc123');
    expect(r('{{.State.Status}} {{.State.ExitCode}}')).toBe('exited 3');
    expect(r('{{.Config.Image}}:{{.Name}}')).toBe('busybox:/web');
    expect(r('text only')).toBe('text only');
    expect(r('')).toBe('');
  });

  it('prints values as Go does', () => {
    expect(r('{{.Config.Env}}')).toBe('[A=1 B=2]');
    expect(r('{{.Config.Labels}}')).toBe('map[com.example.app:web tier:front]');
    expect(r('{{.State.Running}}')).toBe('false');
    expect(r('{{.Num}} {{.Big}}')).toBe('1.5 1700000000');
    expect(r('{{.Mounts}}')).toBe(
      '[map[Destination:/x RW:true Source:/a] map[Destination:/y RW:false Source:/b]]',
    );
    expect(r('{{.}}', 3)).toBe('3');
    expect(r('{{.}}', 1.25e-7)).toBe('1.25e-07');
    expect(r('{{.}}', 1234567.5)).toBe('1.2345675e+06');
  });

  it('a missing key of a map is <no value>, and so are its fields; nil is <no value> too', () => {
    expect(r('{{.Nope}}')).toBe('<no value>');
    expect(r('{{.Nope.Deeper}}')).toBe('<no value>');
    expect(r('{{.State.Health}}')).toBe('<no value>');
    expect(r('{{index .Config.Labels "nope"}}')).toBe('<no value>');
  });

  it('a field of nil, a string or a list is an error, with the position and the node', () => {
    expect(err('{{.State.Health.Status}}')).toBe(
      'template: :1:2: executing "" at <.State.Health.Status>: nil pointer evaluating interface {}.Status',
    );
    expect(err('{{.Id.Foo}}')).toBe(
      'template: :1:2: executing "" at <.Id.Foo>: can\'t evaluate field Foo in type string',
    );
    expect(err('ab\ncd {{.Config.Env.X}}')).toBe(
      'template: :2:5: executing "" at <.Config.Env.X>: can\'t evaluate field X in type []interface {}',
    );
  });

  it('a struct refuses names it does not have, calls its methods', () => {
    const row = goStruct('*formatter.ContainerContext', {
      ID: 'abc',
      Label: (k: string) => (k === 'tier' ? 'front' : ''),
    });
    expect(r('{{.ID}} {{.Label "tier"}}|{{.Label "x"}}', row)).toBe('abc front|');
    expect(err('{{.Nope}}', row)).toBe(
      'template: :1:2: executing "" at <.Nope>: can\'t evaluate field Nope in type *formatter.ContainerContext',
    );
    expect(err('{{.ID "x"}}', row)).toBe(
      'template: :1:2: executing "" at <.ID>: ID has arguments but cannot be invoked as function',
    );
    expect(err('{{.Label}}', row)).toBe(
      'template: :1:2: executing "" at <.Label>: wrong number of args for Label: want 1 got 0',
    );
    expect(r('{{json .}}', row)).toBe('{"ID":"abc"}');
  });

  it('a map field with arguments is an error', () => {
    expect(err('{{.Id "x"}}')).toBe(
      'template: :1:2: executing "" at <.Id>: Id is not a method but has arguments',
    );
  });
});

describe('no way into JavaScript', () => {
  const attempts = [
    '{{.constructor}}',
    '{{.__proto__}}',
    '{{.constructor.name}}',
    '{{.__proto__.constructor}}',
    '{{.toString}}',
    '{{.hasOwnProperty}}',
    '{{.Config.Env.length}}',
    '{{.Id.length}}',
    '{{index . "constructor"}}',
    '{{index . "__proto__"}}',
    '{{(index . "constructor").name}}',
    '{{with .constructor}}{{.name}}{{end}}',
    '{{range $k, $v := .__proto__}}{{$k}}{{end}}',
    '{{.valueOf}}',
    '{{printf "%v" .constructor}}',
    '{{json .constructor}}',
  ];
  for (const t of attempts) {
    it(`${t} reaches no prototype`, () => {
      let out: string;
      try {
        out = r(t);
      } catch (e) {
        expect(e).toBeInstanceOf(TemplateError);
        expect((e as Error).message).not.toMatch(/function|Object|\[native/);
        return;
      }
      expect(out).not.toMatch(/function|Object|\[native|prototype/);
      expect(['<no value>', '', 'null', '%!v(<nil>)', '<nil>']).toContain(out);
    });
  }

  it('a struct’s prototype is not reached either', () => {
    const row = goStruct('T', { A: 'x' });
    expect(err('{{.constructor}}', row)).toMatch(/can't evaluate field constructor in type T/);
    expect(err('{{.toString}}', row)).toMatch(/can't evaluate field toString/);
  });

  it('own keys named like prototype members are plain data', () => {
    const d = JSON.parse('{"__proto__": {"x": "own"}, "constructor": "c"}') as unknown;
    expect(r('{{.__proto__.x}} {{.constructor}}', d)).toBe('own c');
  });

  it('a class instance is not data', () => {
    class Secret {
      key = 'hidden';
    }
    expect(err('{{.S.key}}', { S: new Secret() })).toMatch(/can't evaluate field key/);
  });
});

describe('functions', () => {
  it('json', () => {
    expect(r('{{json .State}}')).toBe(
      '{"Status":"exited","ExitCode":3,"Pid":0,"Running":false,"Health":null}',
    );
    expect(r('{{json .Config.Env}}')).toBe('["A=1","B=2"]');
    expect(r('{{json .Nope}}')).toBe('null');
    expect(r('{{json .Html}}')).toBe('"<a&b>"'); // docker turns HTML escaping off
    expect(r('{{.Config.Env | json}}')).toBe('["A=1","B=2"]');
    expect(r('{{json "a\u2028b"}}')).toBe('"a\\u2028b"');
  });

  it('index', () => {
    expect(r('{{index .Config.Labels "com.example.app"}}')).toBe('web');
    expect(r('{{index .Config.Env 1}}')).toBe('B=2');
    expect(r('{{index .Mounts 1 "Source"}}')).toBe('/b');
    expect(r('{{index .Id 0}}')).toBe('97');
    expect(err('{{index .Config.Env 5}}')).toBe(
      'template: :1:2: executing "" at <index .Config.Env 5>: error calling index: index out of range: 5',
    );
    expect(err('{{index .Nope 0}}')).toMatch(/error calling index: index of untyped nil/);
    expect(err('{{index .Config.Labels 0}}')).toMatch(/value has type int; should be string/);
    expect(err('{{index .Config.Env "a"}}')).toMatch(/cannot index slice\/array with type string/);
    expect(err('{{index .State.Running 0}}')).toMatch(/can't index item of type bool/);
  });

  it('printf, print, println', () => {
    expect(r('{{printf "%s=%d" .Id .State.ExitCode}}')).toBe('abc123=3');
    expect(r('{{printf "%-8s|%5s|%05d|%x|%X|%q" "ab" "cd" 42 255 "hi" "x\\ty"}}')).toBe(
      'ab      |   cd|00042|ff|6869|"x\\ty"',
    );
    expect(r('{{printf "%.2f %e %g %v %t %c %%" 3.14159 1234.5 0.5 .Config.Env true 65}}')).toBe(
      '3.14 1.234500e+03 0.5 [A=1 B=2] true A %',
    );
    expect(r('{{printf "%d" "x"}}')).toBe('%!d(string=x)');
    expect(r('{{printf "%s %s" "x"}}')).toBe('x %!s(MISSING)');
    expect(r('{{printf "%s" "x" 1}}')).toBe('x%!(EXTRA int=1)');
    expect(r('{{printf "%s" .Nope}}')).toBe('%!s(<nil>)');
    expect(r('{{print "a" 1 2 "b"}}')).toBe('a1 2b');
    expect(r('{{println "a" 1}}')).toBe('a 1\n');
    expect(r('{{.Id | printf "<%s>"}}')).toBe('<abc123>');
    expect(err('{{printf "%99999999d" 1}}')).toMatch(/error calling printf: printf: width or precision/);
  });

  it('lower, upper, title, join, split, pad, truncate, len', () => {
    expect(r('{{lower "AbC"}} {{upper .State.Status}} {{title "hello big world"}}')).toBe(
      'abc EXITED Hello Big World',
    );
    expect(r('{{join .Config.Env ","}}')).toBe('A=1,B=2');
    expect(r('{{split "a:b:c" ":"}} {{len (split "a:b" ":")}}')).toBe('[a b c] 2');
    expect(r('[{{pad "x" 2 1}}] {{truncate "abcdef" 3}} {{truncate "ab" 3}}')).toBe('[  x ] abc ab');
    expect(r('{{len .Config.Env}} {{len .Config.Labels}} {{len "héllo"}}')).toBe('2 2 6');
    expect(err('{{lower 3}}')).toBe(
      'template: :1:2: executing "" at <lower 3>: error calling lower: wrong type for value; expected string; got int',
    );
    expect(err('{{len 3}}')).toMatch(/error calling len: len of type int/);
    expect(err('{{join .Id ","}}')).toMatch(/expected \[\]string; got string/);
  });

  it('comparisons and logic', () => {
    expect(r('{{eq .State.ExitCode 3}} {{ne .Id "x"}} {{lt 1 2}} {{le 2 2}} {{gt "b" "a"}} {{ge 1 2}}')).toBe(
      'true true true true true false',
    );
    expect(r('{{eq .State.Status "running" "exited"}}')).toBe('true');
    expect(r('{{and 1 0 2}} {{or 0 "" "x"}} {{not .State.Running}} {{and 1 2}}')).toBe('0 x true 2');
    expect(err('{{eq .Id 1}}')).toMatch(/error calling eq: incompatible types for comparison/);
    expect(err('{{lt true false}}')).toMatch(/invalid type for comparison/);
    expect(err('{{eq .Config.Env .Config.Env}}')).toMatch(/non-comparable type/);
    // and/or stop at the first value that decides: the index error is never reached
    expect(r('{{or 1 (index .Config.Env 99)}}')).toBe('1');
  });

  it('wrong numbers of arguments', () => {
    expect(err('{{lower}}')).toBe(
      'template: :1:2: executing "" at <lower>: wrong number of args for lower: want 1 got 0',
    );
    expect(err('{{index}}')).toMatch(/want at least 1 got 0/);
  });
});

describe('control', () => {
  it('if / else if / else with Go’s truth', () => {
    const t = '{{if .A}}a{{else if .B}}b{{else}}c{{end}}';
    expect(r(t, { A: 1, B: 1 })).toBe('a');
    expect(r(t, { A: 0, B: 'x' })).toBe('b');
    expect(r(t, { A: '', B: [] })).toBe('c');
    expect(r(t, { A: {}, B: null })).toBe('c');
    expect(r(t, { A: [0], B: 0 })).toBe('a');
    expect(r(t, {})).toBe('c');
    expect(r('{{if eq .State.Status "exited"}}stopped ({{.State.ExitCode}}){{end}}')).toBe('stopped (3)');
  });

  it('range over lists and maps, with . rebound, variables, else, break and continue', () => {
    expect(r('{{range .Config.Env}}[{{.}}]{{end}}')).toBe('[A=1][B=2]');
    expect(r('{{range $i, $e := .Config.Env}}{{$i}}:{{$e}} {{end}}')).toBe('0:A=1 1:B=2 ');
    expect(r('{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}')).toBe(
      'com.example.app=web;tier=front;',
    );
    expect(r('{{range .Mounts}}{{.Source}}->{{.Destination}} {{end}}')).toBe('/a->/x /b->/y ');
    expect(r('{{range .Config.Empty}}x{{else}}none{{end}}')).toBe('none');
    expect(r('{{range .Nope}}x{{else}}none{{end}}')).toBe('none');
    expect(
      r(
        '{{range .Config.Cmd}}{{if eq . "-c"}}{{continue}}{{end}}{{if eq . "echo hi"}}{{break}}{{end}}{{.}}{{end}}',
      ),
    ).toBe('sh');
    expect(r('{{range $.Config.Env}}{{$.Id}} {{end}}')).toBe('abc123 abc123 ');
    expect(r('{{range 3}}{{.}}{{end}}')).toBe('012');
    expect(err('{{range .Id}}{{end}}')).toMatch(/range can't iterate over abc123/);
  });

  it('with rebinds dot; variables keep their scope', () => {
    expect(r('{{with .State}}{{.Status}}{{end}}')).toBe('exited');
    expect(r('{{with .Nope}}x{{else}}y{{end}}')).toBe('y');
    expect(r('{{$x := .Id}}{{with .State}}{{$x}}/{{.Pid}}{{end}}')).toBe('abc123/0');
    expect(r('{{$n := 0}}{{range .Config.Env}}{{$n = .}}{{end}}{{$n}}')).toBe('B=2');
    expect(r('{{if true}}{{$y := 1}}{{$y}}{{end}}')).toBe('1');
    expect(() => parseTemplate('{{if true}}{{$y := 1}}{{end}}{{$y}}')).toThrow(
      'template: :1: undefined variable "$y"',
    );
  });

  it('parenthesized pipelines and chains on them', () => {
    expect(r('{{(index .Mounts 0).Source}}')).toBe('/a');
    expect(r('{{len (index .Config.Env 0)}}')).toBe('3');
    expect(r('{{printf "%s-%s" (lower "A") (upper "b")}}')).toBe('a-B');
  });
});

describe('text and whitespace', () => {
  it('trim markers and comments', () => {
    expect(r('a  {{- .Id -}}  b')).toBe('aabc123b');
    expect(r('a\n  {{- .Id}}\n')).toBe('aabc123\n');
    expect(r('x {{/* a comment */}} y')).toBe('x  y');
    expect(r('x {{- /* a comment */ -}} y')).toBe('xy');
    expect(r('{{-3}}')).toBe('-3');
    expect(r('{{ .Id }}')).toBe('abc123');
  });

  it('strings: escapes and raw strings', () => {
    expect(r('{{"a\\tb\\u00e9\\x41"}}')).toBe('a\tbéA');
    expect(r('{{`raw\\n`}}')).toBe('raw\\n');
    expect(r('{{printf "%c" \'x\'}}')).toBe('x');
  });
});

describe('parse errors are Go’s', () => {
  const cases: [string, string][] = [
    ['{{.Id', 'template: :1: unclosed action'],
    ['{{if .Id}}x', 'template: :1: unexpected EOF'],
    ['{{end}}', 'template: :1: unexpected {{end}}'],
    ['{{else}}', 'template: :1: unexpected {{else}}'],
    ['{{nope .Id}}', 'template: :1: function "nope" not defined'],
    ['{{}}', 'template: :1: missing value for command'],
    ['{{if}}{{end}}', 'template: :1: missing value for if'],
    ['{{.Id | "x"}}', 'template: :1: non executable command in pipeline stage 2'],
    ['{{$x}}', 'template: :1: undefined variable "$x"'],
    ['{{break}}', 'template: :1: {{break}} outside {{range}}'],
    ['{{(.Id}}', 'template: :1: unclosed left paren'],
    ['{{.Id)}}', 'template: :1: unexpected right paren'],
    ['{{"abc}}', 'template: :1: unterminated quoted string'],
    ['{{template "x"}}', "template: :1: {{template}} is not supported by moat's templates"],
    ['{{define "x"}}{{end}}', "template: :1: {{define}} is not supported by moat's templates"],
    ['{{.Id @}}', "template: :1: unexpected bad character U+0040 '@' in command"],
    ['a\n{{/* x }}', 'template: :2: unclosed comment'],
    ['{{range .A}}{{else}}{{else}}{{end}}', 'template: :1: expected end; found {{else}}'],
  ];
  for (const [src, msg] of cases) it(src, () => expect(() => parseTemplate(src)).toThrow(msg));
});

describe('bounds', () => {
  it('nesting is limited', () => {
    expect(() => parseTemplate('{{'.padEnd(2 + 200, '(') + '1' + ')'.repeat(200) + '}}')).toThrow(
      /nesting too deep/,
    );
    expect(() => parseTemplate('{{if 1}}'.repeat(150) + '{{end}}'.repeat(150))).toThrow(/nesting too deep/);
    expect(r('{{if 1}}'.repeat(50) + 'x' + '{{end}}'.repeat(50), {})).toBe('x');
  });

  it('steps are limited: nested ranges over large lists stop', () => {
    const big = { L: Array.from({ length: 1000 }, (_, i) => i) };
    const t = parseTemplate('{{range .L}}{{range $.L}}{{range $.L}}{{end}}{{end}}{{end}}');
    expect(() => execute(t, big)).toThrow(/execution took more than 1000000 steps/);
  });

  it('output is limited, and so is each string a function makes', () => {
    const t = parseTemplate('{{range .L}}{{printf "%10000s" "x"}}{{end}}');
    expect(() => execute(t, { L: Array.from({ length: 100 }) }, { limits: { maxOutput: 100_000 } })).toThrow(
      /output is longer than 100000 characters/,
    );
    expect(() =>
      execute(parseTemplate('{{pad "x" 10000 10000}}'), {}, { limits: { maxOutput: 1000 } }),
    ).toThrow(/output is longer/);
    expect(() => render('{{pad "x" 20000 0}}', {})).toThrow(/more than 10000 spaces/);
  });

  it('the source is limited', () => {
    expect(() => parseTemplate('x'.repeat(70_000))).toThrow(/longer than 65536 characters/);
  });

  it('a failed execution keeps the output written before it', () => {
    try {
      render('ab{{.Id.X}}', data);
    } catch (e) {
      expect((e as TemplateError).partial).toBe('ab');
    }
  });
});

describe('header functions', () => {
  it('pass the header through', () => {
    const t = parseTemplate('{{json .ID}} {{lower .Names}} {{join .Names ","}} {{pad .ID 1 1}}');
    expect(execute(t, { ID: 'CONTAINER ID', Names: 'NAMES' }, { funcs: HEADER_FUNCS })).toBe(
      'CONTAINER ID NAMES NAMES CONTAINER ID',
    );
  });
});
