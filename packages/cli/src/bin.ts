#!/usr/bin/env node
console.log('veritee');
