import './registry.js';
