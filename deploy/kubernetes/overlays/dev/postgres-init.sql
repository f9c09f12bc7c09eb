-- One database per service: each service owns its schema and nobody else reads it.
CREATE DATABASE gateway;
CREATE DATABASE catalog;
CREATE DATABASE install;
CREATE DATABASE review;
CREATE DATABASE webhook;
