import { describe, expect, it } from 'vitest';
import { distroQualifier, purl, purlEncode } from '../../../../src/scan/packages/purl.js';

describe('purl', () => {
  it('encodes everything but the unreserved characters and the colon', () => {
    expect(purlEncode('1:2.4.47-2+b1')).toBe('1:2.4.47-2%2Bb1');
    expect(purlEncode("a b/c@d?e#f!'()*~_.-")).toBe('a%20b%2Fc%40d%3Fe%23f%21%27%28%29%2A~_.-');
    expect(purlEncode('ü')).toBe('%C3%BC');
  });

  it('builds the spec examples', () => {
    expect(
      purl({
        type: 'deb',
        namespace: 'debian',
        name: 'curl',
        version: '7.50.3-1',
        qualifiers: { distro: 'jessie', arch: 'i386' },
      }),
    ).toBe('pkg:deb/debian/curl@7.50.3-1?arch=i386&distro=jessie');
    expect(purl({ type: 'npm', namespace: '@angular', name: 'animation', version: '12.3.1' })).toBe(
      'pkg:npm/%40angular/animation@12.3.1',
    );
    expect(
      purl({ type: 'golang', namespace: 'github.com/gorilla', name: 'context', version: 'v1.1.1' }),
    ).toBe('pkg:golang/github.com/gorilla/context@v1.1.1');
    expect(
      purl({ type: 'maven', namespace: 'org.apache.xmlgraphics', name: 'batik-anim', version: '1.9.1' }),
    ).toBe('pkg:maven/org.apache.xmlgraphics/batik-anim@1.9.1');
    expect(
      purl({ type: 'pypi', name: 'django', version: '1.11.1', qualifiers: { x: '', y: undefined } }),
    ).toBe('pkg:pypi/django@1.11.1');
  });

  it('distro qualifier', () => {
    expect(distroQualifier({ id: 'debian', version: '12' })).toBe('debian-12');
    expect(distroQualifier({ id: 'debian', version: '' })).toBe('debian');
    expect(distroQualifier(undefined)).toBeUndefined();
  });
});
