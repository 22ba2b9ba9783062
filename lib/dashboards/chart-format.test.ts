import { describe, expect, it } from "vitest";

import { SEVERITY_COLORS, STEPUP_COLORS, timeAxis, timeLabel } from "@/lib/dashboards/chart-format";

// 23:00 UTC on 6 December: London is on UTC then, so the label is the same wherever the test runs.
const at = "2026-12-06T23:00:00.000Z";

describe("tick labels of the overview's charts", () => {
  it("give day, month and hours:minutes for 2-hour buckets, in British and American English alike", () => {
    process.env.TZ = "UTC";
    const gb = timeLabel(at, "7d", { locale: "en-GB" });
    expect(gb).toMatch(/^\d{1,2} \w{3} \d{2}:\d{2}$/);
    expect(gb).not.toMatch(/, \d{2}$/);
    expect(timeLabel(at, "7d", { locale: "en-US" })).toMatch(/^\w{3} \d{1,2} \d{2}:\d{2}\s?(AM|PM)$/);
    expect(timeLabel(at, "7d", { locale: "de-DE" })).toMatch(/\d{2}:\d{2}$/);
  });

  it("give the date alone for day buckets, and the time alone within a day", () => {
    expect(timeLabel(at, "30d", { locale: "en-GB" })).toMatch(/^\d{1,2} \w{3}$/);
    expect(timeLabel(at, "1h", { locale: "en-GB" })).toMatch(/^\d{2}:\d{2}$/);
  });
});

describe("the time axis of the last 24 hours", () => {
  // Hourly buckets from 08:00 UTC on 6 December to 07:00 UTC on 7 December.
  const hours = Array.from({ length: 24 }, (_, i) => new Date(Date.parse("2026-12-06T08:00:00Z") + i * 3_600_000).toISOString());

  it("gives the time alone, and the day where it changes in the viewer's zone", () => {
    const axis = timeAxis(hours, "24h", { locale: "en-GB", timeZone: "America/Los_Angeles", count: 6 });
    // Every fourth hour: 00:00 to 20:00, all on 6 December in Los Angeles (UTC crosses midnight).
    expect(axis.ticks!.map(axis.label)).toEqual(["00:00", "04:00", "08:00", "12:00", "16:00", "20:00"]);
    const berlin = timeAxis(hours, "24h", { locale: "en-GB", timeZone: "Europe/Berlin", count: 6 });
    expect(berlin.ticks!.map(berlin.label)).toEqual(["6 Dec 09:00", "13:00", "17:00", "21:00", "7 Dec 01:00", "05:00"]);
  });

  it("gives no day when every tick falls on the same one", () => {
    const hour = Array.from({ length: 60 }, (_, i) => new Date(Date.parse("2026-12-06T12:00:00Z") + i * 60_000).toISOString());
    const axis = timeAxis(hour, "1h", { locale: "en-GB", timeZone: "Asia/Singapore", count: 6 });
    expect(axis.ticks!.map(axis.label)).toEqual(["20:00", "20:10", "20:20", "20:30", "20:40", "20:50"]);
  });

  it("leaves the ticks to the chart when every label carries its date", () => {
    expect(timeAxis(hours, "7d").ticks).toBeUndefined();
    expect(timeAxis(hours, "7d", { locale: "en-GB", timeZone: "UTC" }).label(hours[0]!)).toBe("6 Dec 08:00");
  });
});

/** sRGB hex to CIE Lab (D65), after simulating a colour-vision deficiency (Machado et al. 2009, severity 1). */
const CVD: Record<string, number[][]> = {
  normal: [[1, 0, 0], [0, 1, 0], [0, 0, 1]],
  protanopia: [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
  deuteranopia: [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.01182, 0.04294, 0.968881]],
  tritanopia: [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.3039]],
};
function lab(hex: string, vision: string): [number, number, number] {
  const lin = [1, 3, 5].map((i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  const [r, g, b] = CVD[vision]!.map((row) => Math.min(1, Math.max(0, row[0]! * lin[0]! + row[1]! * lin[1]! + row[2]! * lin[2]!)));
  const xyz = [(0.4124 * r! + 0.3576 * g! + 0.1805 * b!) / 0.95047, 0.2126 * r! + 0.7152 * g! + 0.0722 * b!, (0.0193 * r! + 0.1192 * g! + 0.9505 * b!) / 1.08883];
  const f = (t: number) => (t > 216 / 24389 ? Math.cbrt(t) : (24389 / 27 * t + 16) / 116);
  const [fx, fy, fz] = xyz.map(f);
  return [116 * fy! - 16, 500 * (fx! - fy!), 200 * (fy! - fz!)];
}
const deltaE = (a: string, b: string, vision: string) => Math.hypot(...lab(a, vision).map((v, i) => v - lab(b, vision)[i]!));

describe("series colours", () => {
  // ΔE 20 is plainly different side by side, in a legend or a stacked bar.
  for (const [name, palette] of Object.entries({ "step-up": STEPUP_COLORS, "alert severity": SEVERITY_COLORS })) {
    it(`tells every pair of the ${name} series apart, with normal vision and with each colour-vision deficiency`, () => {
      const colours = Object.entries(palette);
      for (const vision of Object.keys(CVD))
        for (const [i, [a, ca]] of colours.entries())
          for (const [b, cb] of colours.slice(i + 1)) expect(deltaE(ca, cb, vision), `${a} vs ${b}, ${vision}`).toBeGreaterThan(20);
    });
  }
});
