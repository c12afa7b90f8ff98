/**
 * The console's cluster panel in Chromium: one cluster node on a private etcd (127.0.0.1:18965) with one OVS
 * bridge (ha-web, edge1 of the campus example). Shows the node, etcd health and who masters the switch.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../controller/api.js';
import { startClusteredController, type ClusteredController } from '../../controller/cluster-setup.js';
import { describeWith, isRoot } from '../helpers/needs.js';
import { haveEtcd, startEtcd, type EtcdServer } from '../helpers/etcd.js';
import { createBridge, deleteBridge, ensureOvs, haveOvs } from '../helpers/ovs.js';
import { copyExample, waitFor } from '../helpers/tmp.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = new URL('../../test-artifacts/web/', import.meta.url).pathname;

describeWith(
  { Chromium: existsSync(CHROMIUM), etcd: haveEtcd(), 'Open vSwitch (root)': haveOvs() && isRoot },
  'cluster panel in the web console',
  () => {
    let etcd: EtcdServer;
    let node: ClusteredController & { port: number };
    let app: FastifyInstance;
    let browser: Browser;

    beforeAll(async () => {
      mkdirSync(ARTIFACTS, { recursive: true });
      ensureOvs();
      etcd = await startEtcd(18965);
      node = await startClusteredController(
        { policyPath: join(copyExample('campus'), 'policy.yaml'), listen: { host: '127.0.0.1', port: 0 } },
        { url: etcd.url },
        { name: 'web-node' },
      );
      app = await buildApp(node.ctl, { adminToken: 'cluster-web-token', cluster: () => node.driver.status() });
      await app.listen({ host: '127.0.0.1', port: 0 });
      createBridge('ha-web', { controller: `tcp:127.0.0.1:${node.port}`, dpid: '0000000000000001' });
      await waitFor(
        'edge1 mastered',
        () => node.driver.status().switches.find((s) => s.dpid === '0x0000000000000001')?.localRole === 'master',
        15_000,
      );
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: [
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      });
    }, 60_000);

    afterAll(async () => {
      await browser?.close();
      deleteBridge('ha-web');
      await app?.close();
      await node?.stop();
      await etcd?.stop();
    });

    it('shows the node, etcd health and the master of each switch', async () => {
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${(app.server.address() as { port: number }).port}/#overview`);
      await page.waitForSelector('#cluster:not([hidden])');
      expect(await page.textContent('#cluster-health')).toMatch(/web-node[\s\S]*etcd healthy/);
      await page.waitForFunction(() =>
        /0x0000000000000001[\s\S]*web-node[\s\S]*master/.test(document.querySelector('#cluster-switches tbody')?.textContent ?? ''),
      );
      await page.screenshot({ path: join(ARTIFACTS, 'cluster.png'), fullPage: true });
      await etcd.stop();
      await page
        .waitForFunction(() => /etcd unavailable/.test(document.querySelector('#cluster-health')?.textContent ?? ''), undefined, {
          timeout: 15_000,
        })
        .catch(async () => {
          await page.reload();
          await page.waitForFunction(
            () => /etcd unavailable/.test(document.querySelector('#cluster-health')?.textContent ?? ''),
            undefined,
            { timeout: 10_000 },
          );
        });
      await etcd.start();
    }, 60_000);
  },
);
