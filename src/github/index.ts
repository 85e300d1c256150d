export { createGitHubApp, type GitHubApp, type GitHubAppDeps } from './app.js';
export { type GitHubConfig, loadGitHubConfig } from './config.js';
export { type MountDeps, mountGitHubApp } from './mount.js';
export { GitHubPublisher } from './publisher.js';
