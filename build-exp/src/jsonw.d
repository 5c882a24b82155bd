build-exp/src/jsonw.o: src/jsonw.c src/jsonw.h
src/jsonw.h:
