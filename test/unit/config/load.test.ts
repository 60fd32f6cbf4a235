import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.js';

const minimal = `
site: bench
lanes:
  - id: lane-1
    driver: vm250
    address: tcp://127.0.0.1:1601
`;

function problemsOf(text: string, env: NodeJS.ProcessEnv = {}) {
  const result = parseConfig(text, env);
  if (result.ok) throw new Error('expected problems');
  return result.problems.map((p) => `${p.line ?? '?'} ${p.path} ${p.message}`);
}

describe('parseConfig', () => {
  it('accepts a minimal configuration and fills in the defaults', () => {
    const result = parseConfig(minimal, {});
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.log.level).toBe('info');
    expect(result.config.storage.dir).toBe('./var');
    expect(result.config.lanes[0]!.alarm.nSigma).toBe(6);
    expect(result.config.lanes[0]!.enabled).toBe(true);
  });

  it('reads an unquoted mqtt.protocol: 5 as the protocol 5', () => {
    const result = parseConfig(`${minimal}\nmqtt:\n  url: mqtt://127.0.0.1:1883\n  protocol: 5\n`, {});
    expect(result.ok && result.config.mqtt?.protocol).toBe('5');
  });

  it('accepts every example configuration in config/', async () => {
    for (const file of ['config/gateway.example.yaml', 'config/single-lane-tcp.yaml']) {
      const result = parseConfig(await readFile(file, 'utf8'), {});
      expect(result.ok, file).toBe(true);
    }
  });

  it('reports every problem at once, with lines and suggestions', () => {
    const problems = problemsOf(`
site: bench
lanes:
  - id: lane-1
    driver: vm25
    adress: tcp://127.0.0.1:1601
    alarm:
      nSigma: 0.5
`);
    expect(problems).toContain("5 lanes[0].driver must be one of vm250, modbus-rpm; got 'vm25'");
    expect(problems).toContain(
      "6 lanes[0].adress is not a setting the gateway knows (did you mean 'address'?)",
    );
    expect(problems.some((p) => p.startsWith('8 lanes[0].alarm.nSigma must be at least 1'))).toBe(true);
    expect(problems.some((p) => p.includes('lanes[0].address is required'))).toBe(true);
  });

  it('checks what the schema cannot: unique ids, address kinds, channel orders', () => {
    const problems = problemsOf(`
site: bench
lanes:
  - id: a
    driver: vm250
    address: modbus-tcp://127.0.0.1:502
    channelOrder: [0, 1, 1, 3]
  - id: a
    driver: modbus-rpm
    address: tcp://127.0.0.1:1601
`);
    expect(problems).toContain(
      '6 lanes[0].address is a modbus-tcp:// address, but a vm250 lane needs tcp:// or serial://',
    );
    expect(problems.some((p) => p.startsWith('7 lanes[0].channelOrder must name each wire position'))).toBe(
      true,
    );
    expect(problems).toContain("8 lanes[1].id 'a' is already used by lanes[0]; lane ids must be unique");
    expect(problems.some((p) => p.includes('lanes[1].address is a tcp:// address'))).toBe(true);
  });

  it('substitutes secrets from the environment and names missing variables', () => {
    const text = minimal.replace('tcp://127.0.0.1:1601', 'tcp://${RPM_HOST}:${RPM_PORT:-1601}');
    const ok = parseConfig(text, { RPM_HOST: '127.0.0.2' });
    expect(ok.ok && ok.config.lanes[0]!.address).toBe('tcp://127.0.0.2:1601');
    expect(problemsOf(text)).toContain(
      '6 lanes[0].address refers to the environment variable RPM_HOST, which is not set',
    );
  });

  it('explains YAML syntax errors with their line', () => {
    const problems = problemsOf('site: bench\nlanes:\n  - id: [unclosed\n');
    expect(problems[0]).toMatch(/^\d+ \(YAML\) is not valid YAML/);
  });

  it('rejects a document that is not a section of settings', () => {
    expect(problemsOf('just text')).toEqual(['? (top level) must be a section of settings (site, lanes, …)']);
  });
});
