import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lineOfPointer, pointerLines, syntaxErrorLine } from '../../../src/sceneforge/studio/jsonPointerLines.js';

const text = `{
  "sceneId": "test01",
  "cells": [
    {"cellId": "hall", "meshes": [{"meshId": "auto"}]},
    {
      "cellId": "kit/chen~1"
    }
  ],
  "portals": [ {"from": "hall",
                "to": "nowhere"} ]
}`;

test( 'pointerLines maps every pointer of a description to its line', () => {

	const lines = pointerLines( text );
	assert.equal( lines.get( '' ), 1 );
	assert.equal( lines.get( '/sceneId' ), 2 );
	assert.equal( lines.get( '/cells' ), 3 );
	assert.equal( lines.get( '/cells/0' ), 4 );
	assert.equal( lines.get( '/cells/0/meshes/0/meshId' ), 4 );
	assert.equal( lines.get( '/cells/1' ), 5 );
	assert.equal( lines.get( '/cells/1/cellId' ), 6 );
	assert.equal( lines.get( '/portals/0/from' ), 9 );
	assert.equal( lines.get( '/portals/0/to' ), 10 );

} );

test( 'lineOfPointer falls back to the nearest ancestor, and keys are RFC 6901-escaped', () => {

	const lines = pointerLines( '{\n "a~b/c": {\n  "x": 1\n }\n}' );
	assert.equal( lines.get( '/a~0b~1c/x' ), 3 );
	assert.equal( lineOfPointer( lines, '/a~0b~1c/missing' ), 2 );
	assert.equal( lineOfPointer( lines, '/nothing/here' ), 1 );

} );

test( 'pointerLines keeps what it mapped before a syntax error', () => {

	const lines = pointerLines( '{\n "a": 1,\n "b": [1, 2,, 3]\n}' );
	assert.equal( lines.get( '/a' ), 2 );
	assert.equal( lines.get( '/b/1' ), 3 );
	assert.equal( lines.has( '/b/3' ), false );

} );

test( 'syntaxErrorLine finds the line of the first syntax error, null for valid JSON', () => {

	assert.equal( syntaxErrorLine( '{\n  "a": [\n    1,\n    2 ]]\n}' ), 4 );
	assert.equal( syntaxErrorLine( '{\n  "a": 1\n}\n\nx' ), 5 );
	assert.equal( syntaxErrorLine( '{\n  "a": "line\nbreak"\n}' ), 2 );
	assert.equal( syntaxErrorLine( '{\n  "a": [ 1, 2 ]\n}\n' ), null );

} );
