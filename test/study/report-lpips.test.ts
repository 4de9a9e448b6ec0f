// The study tables show an LPIPS column only when some run reports LPIPS (eval.lpips), with its values per row.
import assert from "node:assert/strict";
import { test } from "node:test";
import { type StudyReport, sr4irTable, stat } from "../../src/study/report.js";

const report = (withLpips: boolean): StudyReport => ({
  name: "t",
  task: "classification",
  scale: 4,
  primary: "top1",
  seeds: [0],
  sr4irView: [
    { id: "hr2task", label: "H→T", metrics: { top1: stat([90]) }, seconds: 1 },
    {
      id: "sr4ir",
      label: "SR4IR",
      metrics: {
        top1: stat([80]),
        psnr_sr4ir: stat([25]),
        psnr_basicsr: stat([27]),
        ssim: stat([0.8]),
        ...(withLpips ? { lpips: stat([0.1234]) } : {}),
      },
      seconds: 2,
    },
  ],
  tdsrView: [],
  trainSeconds: 3,
  seconds: 3,
});

test("study table: an LPIPS column when a run reports it, none otherwise", () => {
  const md = sr4irTable(report(true));
  assert.match(md.split("\n")[0]!, /\| SSIM \| LPIPS \| train time/);
  assert.match(md, /\| SR4IR \| 80\.00 \| 25\.00 \| 27\.00 \| 0\.8000 \| 0\.1234 \| 2 \|/);
  assert.match(md, /\| H→T \| 90\.00 \| – \| – \| – \| – \| 1 \|/);
  assert.doesNotMatch(sr4irTable(report(false)), /LPIPS/);
});
