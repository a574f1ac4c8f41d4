// Reading a stored run for people: listings, overviews, drift tables, exports and the HTML
// report. Everything here is computed from the run database; the CLI commands only format it.
export * from './charts.js';
export * from './diff.js';
export * from './drift.js';
export * from './export.js';
export * from './format.js';
export * from './html.js';
export * from './judge-charts.js';
export * from './open-run.js';
export * from './runs.js';
export * from './show.js';
